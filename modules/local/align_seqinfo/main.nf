process ALIGN_SEQINFO {
    label 'process_single'

    input:
    path seqinfo, stageAs: 'seqinfo/*'
    path alignment

    output:
    path 'aligned_seq_info.json', emit: json

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
