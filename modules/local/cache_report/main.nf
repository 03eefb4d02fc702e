process CACHE_REPORT {
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container 'agr_pavi/genome-cache:0.2.0'   // the Dockerfile's image (bin/ scripts, samtools, clustalo)

    input:
    path receipts, stageAs: 'receipts/receipt*.json'
    path genomes

    output:
    path 'cache-report.json', emit: json
    path 'cache-report.txt' , emit: txt
    tuple val("${task.process}"), val('genomecache'), eval("python3 -c 'import genomecache; print(genomecache.__version__)' 2>/dev/null || echo none"), topic: versions, emit: versions_genomecache

    when:
    task.ext.when == null || task.ext.when

    script:
    """
    genome_cache.py report receipts/*.json --genomes ${genomes} --session '${workflow.sessionId}'
    cat cache-report.txt
    """

    stub:
    """
    touch cache-report.json cache-report.txt
    """
}
