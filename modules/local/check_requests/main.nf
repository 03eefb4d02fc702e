process CHECK_REQUESTS {
    tag "${payload.name}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container 'agr_pavi/genome-cache:0.2.0'   // the Dockerfile's image (bin/ scripts, samtools, clustalo)

    input:
    path payload
    val base_dir

    output:
    path 'requests.json', emit: requests
    path 'genomes.json' , emit: genomes
    path 'urls/*.url'   , emit: urls      // <entry>.url: a genome's URL, owner-only (credentials)
    tuple val("${task.process}"), val('genomecache'), eval("python3 -c 'import genomecache; print(genomecache.__version__)' 2>/dev/null || echo none"), topic: versions, emit: versions_genomecache

    when:
    task.ext.when == null || task.ext.when

    script:
    // task.ext.args: --codon-table N (conf/modules.config sets it from --codon_table)
    def q = { value -> "'" + value.toString().replace("'", "'\\''") + "'" }
    """
    umask 077
    check_requests.py ${payload} --base-dir ${q(base_dir)} --url-files urls ${task.ext.args ?: ''}
    """

    stub:
    """
    mkdir urls && touch urls/stub.url
    echo '[]' > requests.json
    echo '[]' > genomes.json
    """
}
