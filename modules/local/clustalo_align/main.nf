process CLUSTALO_ALIGN {
    label 'process_single'

    input:
    path sequences, stageAs: 'alignment-input.fa'

    output:
    path 'alignment-output.aln', emit: alignment

    script:
    // PAVI's alignment step; task.ext.args adds clustalo options (conf/msa.config)
    """
    clustalo -i alignment-input.fa --outfmt=clustal --resno --threads=${task.cpus} \\
        ${task.ext.args ?: ''} -o alignment-output.aln
    """

    stub:
    """
    printf 'CLUSTAL O(1.2.4) multiple sequence alignment\\n\\n' > alignment-output.aln
    """
}
