process SEQUENCE_RETRIEVAL {
    tag "${request.unique_entry_id}"
    label 'process_single'

    input:
    tuple val(request), val(genome)
    val output_type

    output:
    path "${request.unique_entry_id}-${output_type}.fa", emit: sequences
    path "${request.unique_entry_id}-seqinfo.json"     , emit: seqinfo

    script:
    // task.ext.command lets PAVI's own seq_retrieval.py (with variant embedding) run here
    def command = task.ext.command ?: 'seq_retrieval.py'
    def q = { value -> "'" + value.toString().replace("'", "'\\''") + "'" }
    def json = { value -> q(groovy.json.JsonOutput.toJson(value ?: [])) }
    def table = request.codon_table != null ? "--codon_table ${request.codon_table}" : ''
    // A cached genome is handed over as a local file (PAVI's script reads file:// in place);
    // range mode reads blocks of the source into the shared cache instead.
    def genome_args = genome.source == 'range'
        ? "--fasta_file_url ${q(request.fasta_file_url)} --access range --cache_dir ${q(genome.cache_dir)}"
        : "--fasta_file_url ${q('file://' + genome.fasta)}"
    """
    ${command} --output_type ${output_type} \\
        --unique_entry_id ${q(request.unique_entry_id)} --base_seq_name ${q(request.base_seq_name)} \\
        --seq_id ${q(request.seq_id)} --seq_strand ${q(request.seq_strand)} \\
        ${genome_args} \\
        --exon_seq_regions ${json(request.exon_seq_regions)} --cds_seq_regions ${json(request.cds_seq_regions)} \\
        --variant_ids ${json(request.variant_ids)} --alt_seq_name_suffix ${q(request.alt_seq_name_suffix ?: '_alt')} \\
        ${table} ${task.ext.args ?: ''}
    """

    stub:
    """
    echo '>${request.base_seq_name}' > ${request.unique_entry_id}-${output_type}.fa
    echo '{}' > ${request.unique_entry_id}-seqinfo.json
    """
}
