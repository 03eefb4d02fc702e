process ALIGN_SEQINFO {
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container 'agr_pavi/genome-cache:0.2.0'   // the Dockerfile's image (bin/ scripts, samtools, clustalo)

    input:
    path seqinfo, stageAs: 'seqinfo/*'
    path alignment

    output:
    path 'aligned_seq_info.json', emit: json
    tuple val("${task.process}"), val('genomecache'), eval("python3 -c 'import genomecache; print(genomecache.__version__)' 2>/dev/null || echo none"), topic: versions, emit: versions_genomecache

    when:
    task.ext.when == null || task.ext.when

    script:
    // task.ext.command lets PAVI's own seq_info_align.py (same options) run here
    def command = task.ext.command ?: 'align_seqinfo.py'
    """
    ${command} --alignment-result-file ${alignment} \\
        --sequence-info-files "\$(echo seqinfo/*)" ${task.ext.args ?: ''}
    """

    stub:
    """
    echo '{}' > aligned_seq_info.json
    """
}
