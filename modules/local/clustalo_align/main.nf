process CLUSTALO_ALIGN {
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container 'agr_pavi/genome-cache:0.2.0'   // the Dockerfile's image (bin/ scripts, samtools, clustalo)

    input:
    path sequences, stageAs: 'alignment-input.fa'

    output:
    path 'alignment-output.aln', emit: alignment
    tuple val("${task.process}"), val('clustalo'), eval("clustalo --version"), topic: versions, emit: versions_clustalo

    when:
    task.ext.when == null || task.ext.when

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
