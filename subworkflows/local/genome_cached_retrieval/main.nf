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
    requests        // channel: PAVI request maps
    cache_dir       // value: absolute path of the shared cache (--cacheDir)
    genome_mirror   // value: read-only mirror of genomes by basename, or ''
    output_type     // value: 'protein' or 'transcript'
    base_dir        // value: folder that relative fasta_file_url paths are relative to
    retrieval_batch // value: requests per SEQUENCE_RETRIEVAL task (--retrievalBatch; 1 = one task each)

    main:
    // The payload may hold URLs with credentials: it is the only copy the pipeline
    // writes besides CHECK_REQUESTS' owner-only urls/<entry>.url, and is owner-only too.
    payload = requests
        .toList()
        .map { list -> groovy.json.JsonOutput.toJson(list) }
        .collectFile(name: 'payload.json')
        .map { file ->
            file.setPermissions(6, 0, 0)
            file
        }
    CHECK_REQUESTS(payload, base_dir)

    // From here on the requests and genomes carry only redacted URLs.
    url_files = CHECK_REQUESTS.out.urls
        .flatten()
        .map { file -> [file.baseName, file] }
    genomes = CHECK_REQUESTS.out.genomes
        .splitJson()
        .map { genome -> [genome.entry, genome] }
        .join(url_files)
        .map { entry, genome, url_file -> [genome, url_file] }
    // every genome's requests are checked against its small .fai before its body is fetched
    DOWNLOAD_GENOMES(genomes, CHECK_REQUESTS.out.requests.first(), cache_dir, genome_mirror)

    // Where each genome is now: a cached or mirrored FASTA path, or (range mode) a
    // prepared range entry that retrieval reads block by block from the source URL.
    cached_genome = DOWNLOAD_GENOMES.out.genome.map { meta, receipt ->
        def found = new groovy.json.JsonSlurper().parse(receipt.toFile())
        [meta.entry, [fasta: found.fasta, source: found.source, cache_dir: cache_dir]]
    }
    // Batches of one genome's requests, sorted by unique_entry_id first so that the same
    // payload always makes the same batches (and -resume finds them).
    def batch_size = Math.max(1, retrieval_batch.toString().toInteger())
    batches = CHECK_REQUESTS.out.requests
        .splitJson()
        .map { request -> [request.genome_entry, request] }
        .groupTuple()
        .flatMap { entry, list ->
            list.sort(false) { request -> request.unique_entry_id }
                .collate(batch_size)
                .collect { chunk -> [entry, chunk] }
        }
    to_retrieve = batches
        .combine(cached_genome, by: 0)
        .combine(url_files, by: 0)
        .map { entry, chunk, genome, url_file -> [genome, chunk, url_file] }
    SEQUENCE_RETRIEVAL(to_retrieve, output_type)

    CACHE_REPORT(
        DOWNLOAD_GENOMES.out.genome.map { meta, receipt -> receipt }.collect(),
        CHECK_REQUESTS.out.genomes
    )

    emit:
    sequences = SEQUENCE_RETRIEVAL.out.sequences.flatten()  // channel: <id>-<type>.fa, one per request
    seqinfo   = SEQUENCE_RETRIEVAL.out.seqinfo.flatten()    // channel: <id>-seqinfo.json, one per request
    report    = CACHE_REPORT.out.json                       // channel: cache-report.json
}
