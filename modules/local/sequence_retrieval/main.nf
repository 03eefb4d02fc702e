process SEQUENCE_RETRIEVAL {
    tag "${requests[0].unique_entry_id}${requests.size() > 1 ? " +${requests.size() - 1}" : ''}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container 'agr_pavi/genome-cache:0.2.0'   // the Dockerfile's image (bin/ scripts, samtools, clustalo)

    input:
    // A batch of requests of one genome (--retrievalBatch), retrieved with one process
    // start and one open of the genome's index; url_file is the genome's source URL,
    // owner-only, read in range mode only (the requests carry the redacted URL).
    tuple val(genome), val(requests), path(url_file)
    val output_type

    output:
    path "*-${output_type}.fa", emit: sequences   // <unique_entry_id>-<type>.fa, one per request
    path "*-seqinfo.json"     , emit: seqinfo     // <unique_entry_id>-seqinfo.json, one per request
    tuple val("${task.process}"), val('genomecache'), eval("python3 -c 'import genomecache; print(genomecache.__version__)' 2>/dev/null || echo none"), topic: versions, emit: versions_genomecache

    when:
    task.ext.when == null || task.ext.when

    script:
    def q = { value -> "'" + value.toString().replace("'", "'\\''") + "'" }
    // The cache directory goes with every read: the entry is locked (prune cannot remove
    // it) and checked on open. Range mode reads blocks of the source into the cache.
    def genome_args = genome.source == 'range'
        ? "--access range --fasta_url_file ${url_file}"
        : "--fasta_file_url ${q('file://' + genome.fasta)}"
    if (task.ext.command) {
        // A command without --batch (PAVI's own seq_retrieval.py): one call per request
        def json = { value -> q(groovy.json.JsonOutput.toJson(value ?: [])) }
        requests.collect { request ->
            def table = request.codon_table != null ? "--codon_table ${request.codon_table}" : ''
            [
                task.ext.command, "--output_type ${output_type}",
                "--unique_entry_id ${q(request.unique_entry_id)} --base_seq_name ${q(request.base_seq_name)}",
                "--seq_id ${q(request.seq_id)} --seq_strand ${q(request.seq_strand)}",
                "--fasta_file_url ${q('file://' + genome.fasta)}",
                "--exon_seq_regions ${json(request.exon_seq_regions)} --cds_seq_regions ${json(request.cds_seq_regions)}",
                "--variant_ids ${json(request.variant_ids)} --alt_seq_name_suffix ${q(request.alt_seq_name_suffix ?: '_alt')}",
                table, task.ext.args ?: ''
            ].join(' ')
        }.join('\n') + '\n'
    }
    else {
        """
        cat > batch.json <<'BATCH_JSON'
        ${groovy.json.JsonOutput.toJson(requests)}
        BATCH_JSON
        seq_retrieval.py --batch batch.json --output_type ${output_type} \\
            ${genome_args} --cache_dir ${q(genome.cache_dir)} ${task.ext.args ?: ''}
        """
    }

    stub:
    def names = requests.collect { request -> "${request.unique_entry_id}:${request.base_seq_name}" }.join(' ')
    """
    for pair in ${names}; do
        echo ">\${pair#*:}" > "\${pair%%:*}-${output_type}.fa"
        echo '{}' > "\${pair%%:*}-seqinfo.json"
    done
    """
}
