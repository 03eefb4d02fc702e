#!/usr/bin/env nextflow
//
// Benchmark mode (b): Nextflow's own staging of a remote input. Each retrieval task
// takes the genome and its .fai/.gzi as `path` inputs built with file('http://...');
// Nextflow downloads each foreign file once per run into work/stage-<session>/ and
// links it into every task that uses it. Nothing is shared between runs.
//
// nextflow run benchmarks/staging.nf --input payload.json --outdir results
//
nextflow.enable.dsl = 2

params.input       = null
params.outdir      = 'results'
params.output_type = 'protein'
params.python      = "${projectDir}/../.venv/bin/python"
params.retrieval   = "${projectDir}/../bin/seq_retrieval.py"

process STAGED_RETRIEVAL {
    tag "${request.unique_entry_id}"
    cpus 1
    publishDir "${params.outdir}/sequences", mode: 'copy'

    input:
    tuple val(request), path(genome), path(fai), path(gzi)

    output:
    path "${request.unique_entry_id}-${params.output_type}.fa"

    script:
    def q = { value -> "'" + value.toString().replace("'", "'\\''") + "'" }
    def json = { value -> q(groovy.json.JsonOutput.toJson(value ?: [])) }
    """
    '${params.python}' '${params.retrieval}' --output_type ${params.output_type} \\
        --unique_entry_id ${q(request.unique_entry_id)} --base_seq_name ${q(request.base_seq_name)} \\
        --seq_id ${q(request.seq_id)} --seq_strand ${q(request.seq_strand)} \\
        --fasta_file_url "file://\$PWD/${genome}" \\
        --exon_seq_regions ${json(request.exon_seq_regions)} --cds_seq_regions ${json(request.cds_seq_regions)} \\
        --cache_dir "\$PWD/unused-cache"
    """
}

workflow {
    if (!params.input) {
        error "--input payload.json is required"
    }
    def requests = new groovy.json.JsonSlurper().parseText(file(params.input, checkIfExists: true).text)
    def staged = Channel.fromList(requests).map { request ->
        def url = request.fasta_file_url
        tuple(request, file(url), file("${url}.fai"), file("${url}.gzi"))
    }
    STAGED_RETRIEVAL(staged)
}
