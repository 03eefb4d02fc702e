process CHECK_REQUESTS {
    tag "${payload.name}"
    label 'process_single'

    input:
    path payload
    val base_dir
    val codon_table

    output:
    path 'requests.json', emit: requests
    path 'genomes.json' , emit: genomes

    script:
    def q = { value -> "'" + value.toString().replace("'", "'\\''") + "'" }
    def table = codon_table ? "--codon-table ${q(codon_table)}" : ''
    """
    check_requests.py ${payload} --base-dir ${q(base_dir)} ${table} ${task.ext.args ?: ''}
    """

    stub:
    """
    echo '[]' > requests.json
    echo '[]' > genomes.json
    """
}
