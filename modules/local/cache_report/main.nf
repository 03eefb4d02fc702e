process CACHE_REPORT {
    label 'process_single'

    input:
    path receipts, stageAs: 'receipts/receipt*.json'
    path genomes

    output:
    path 'cache-report.json', emit: json
    path 'cache-report.txt' , emit: txt

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
