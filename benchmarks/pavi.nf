#!/usr/bin/env nextflow
//
// Benchmark mode (a): PAVI's way. Every retrieval task fetches the genome and its
// .fai/.gzi itself (seq_retrieval.py with a fresh, private, empty --cache_dir in the
// task directory) and deletes that copy when done, as ephemeral task storage would.
//
// nextflow run benchmarks/pavi.nf --input payload.json --outdir results
//
nextflow.enable.dsl = 2

params.input       = null
params.outdir      = 'results'
params.output_type = 'protein'
params.python      = "${projectDir}/../.venv/bin/python"
params.retrieval   = "${projectDir}/../bin/seq_retrieval.py"

process PAVI_RETRIEVAL {
    tag "${request.unique_entry_id}"
    cpus 1
    publishDir "${params.outdir}/sequences", mode: 'copy'

    input:
    val request

    output:
    path "${request.unique_entry_id}-${params.output_type}.fa"

    script:
    def q = { value -> "'" + value.toString().replace("'", "'\\''") + "'" }
    def json = { value -> q(groovy.json.JsonOutput.toJson(value ?: [])) }
    """
    trap 'rm -rf "\$PWD/private-genome-cache"' EXIT
    '${params.python}' '${params.retrieval}' --output_type ${params.output_type} \\
        --unique_entry_id ${q(request.unique_entry_id)} --base_seq_name ${q(request.base_seq_name)} \\
        --seq_id ${q(request.seq_id)} --seq_strand ${q(request.seq_strand)} \\
        --fasta_file_url ${q(request.fasta_file_url)} \\
        --exon_seq_regions ${json(request.exon_seq_regions)} --cds_seq_regions ${json(request.cds_seq_regions)} \\
        --cache_dir "\$PWD/private-genome-cache"
    """
}

workflow {
    if (!params.input) {
        error "--input payload.json is required"
    }
    def requests = new groovy.json.JsonSlurper().parseText(file(params.input, checkIfExists: true).text)
    PAVI_RETRIEVAL(Channel.fromList(requests))
}
