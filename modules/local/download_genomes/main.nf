process DOWNLOAD_GENOMES {
    // The URL is a value, not a remote `path` input, because Nextflow 24.10 stages remote
    // path inputs even when storeDir then skips the task (nextflow-io/nextflow#5468).
    // Label: nf-core's standard process_long (conf/base.config: 1 CPU, 1 GB, 4 h).
    tag "${meta.display_url}"
    label 'process_long'

    conda "${moduleDir}/environment.yml"
    container 'agr_pavi/genome-cache:0.2.0'   // the Dockerfile's image (bin/ scripts, samtools, clustalo)

    input:
    // meta holds only the redacted display URL; the URL itself (it may carry credentials)
    // comes in an owner-only file, read by `fetch @FILE`, never in the script text
    tuple val(meta), path(url_file)
    path requests        // requests.json: this genome's are checked against its .fai before the download
    val cache_dir
    val genome_mirror

    output:
    tuple val(meta), path('receipt.json'), emit: genome
    path "versions.yml", topic: versions, emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def q = { value -> "'" + value.toString().replace("'", "'\\''") + "'" }
    def mirror = genome_mirror ? "--mirror ${q(genome_mirror)}" : ''
    """
    genome_cache.py --quiet --cache-dir ${q(cache_dir)} ${mirror} \\
        fetch @${url_file} --requests ${requests} --receipt receipt.json --session '${workflow.sessionId}' ${task.ext.args ?: ''}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        genomecache: \$(genome_cache.py --version | sed 's/.* //')
    END_VERSIONS
    """

    stub:
    """
    echo '{"url": "${meta.display_url}", "entry": "${meta.entry}", "fasta": "", "source": "network", "size": 0}' > receipt.json
    printf '"%s":\n    genomecache: stub\n' '${task.process}' > versions.yml
    """
}
