//
// Download each unique genome once into the shared cache, then retrieve every
// request from it by index. This is the unit PAVI's protein-msa.nf includes.
//
include { CHECK_REQUESTS     } from '../../../modules/local/check_requests'
include { DOWNLOAD_GENOMES   } from '../../../modules/local/download_genomes'
include { SEQUENCE_RETRIEVAL } from '../../../modules/local/sequence_retrieval'
include { CACHE_REPORT       } from '../../../modules/local/cache_report'

workflow GENOME_CACHED_RETRIEVAL {
    take:
    requests       // channel: PAVI request maps
    cache_dir      // value: absolute path of the shared cache (--cacheDir)
    genome_mirror  // value: read-only mirror of genomes by basename, or ''
    output_type    // value: 'protein' or 'transcript'
    base_dir       // value: folder that relative fasta_file_url paths are relative to

    main:
    payload = requests
        .toList()
        .map { list -> groovy.json.JsonOutput.toJson(list) }
        .collectFile(name: 'payload.json')
    CHECK_REQUESTS(payload, base_dir, params.codon_table ?: '')

    DOWNLOAD_GENOMES(CHECK_REQUESTS.out.genomes.splitJson(), cache_dir, genome_mirror)

    // Where each genome is now: a cached or mirrored FASTA path, or (range mode) a
    // prepared range entry that retrieval reads block by block from the source URL.
    cached_genome = DOWNLOAD_GENOMES.out.genome.map { meta, receipt ->
        def found = new groovy.json.JsonSlurper().parse(receipt.toFile())
        [meta.entry, [fasta: found.fasta, source: found.source, cache_dir: cache_dir]]
    }
    to_retrieve = CHECK_REQUESTS.out.requests
        .splitJson()
        .map { request -> [request.genome_entry, request] }
        .combine(cached_genome, by: 0)
        .map { entry, request, genome -> [request, genome] }
    SEQUENCE_RETRIEVAL(to_retrieve, output_type)

    CACHE_REPORT(
        DOWNLOAD_GENOMES.out.genome.map { meta, receipt -> receipt }.collect(),
        CHECK_REQUESTS.out.genomes
    )

    emit:
    sequences = SEQUENCE_RETRIEVAL.out.sequences  // channel: <id>-<type>.fa
    seqinfo   = SEQUENCE_RETRIEVAL.out.seqinfo    // channel: <id>-seqinfo.json
    report    = CACHE_REPORT.out.json             // channel: cache-report.json
}
