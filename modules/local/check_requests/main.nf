process CHECK_REQUESTS {
    tag "${payload.name}"
    label 'process_single'

    input:
    path payload
    val base_dir

    output:
    path 'requests.json', emit: requests
    path 'genomes.json' , emit: genomes
    path 'urls/*.url'   , emit: urls      // <entry>.url: a genome's URL, owner-only (credentials)

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
