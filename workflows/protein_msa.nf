//
// PAVI's protein-msa.nf on the shared genome cache: retrieve each protein from its
// cached genome, align them all with Clustal Omega and merge their sequence info.
//
include { GENOME_CACHED_RETRIEVAL } from '../subworkflows/local/genome_cached_retrieval'
include { CLUSTALO_ALIGN          } from '../modules/local/clustalo_align'
include { ALIGN_SEQINFO           } from '../modules/local/align_seqinfo'

workflow PROTEIN_MSA {
    take:
    requests       // channel: PAVI request maps
    cache_dir      // value: absolute path of the shared cache (--cacheDir)
    genome_mirror  // value: read-only mirror of genomes by basename, or ''
    base_dir       // value: folder that relative fasta_file_url paths are relative to
    retrieval_batch // value: requests per retrieval task (--retrievalBatch)

    main:
    GENOME_CACHED_RETRIEVAL(requests, cache_dir, genome_mirror, 'protein', base_dir, retrieval_batch)

    // One FASTA in file-name (unique_entry_id) order, so the input is the same every run
    alignment_input = GENOME_CACHED_RETRIEVAL.out.sequences
        .collectFile(name: 'alignment-input.fa', sort: { file -> file.name })
    CLUSTALO_ALIGN(alignment_input)

    ALIGN_SEQINFO(GENOME_CACHED_RETRIEVAL.out.seqinfo.collect(), CLUSTALO_ALIGN.out.alignment)

    emit:
    alignment = CLUSTALO_ALIGN.out.alignment       // channel: alignment-output.aln
    seqinfo   = ALIGN_SEQINFO.out.json             // channel: aligned_seq_info.json
    sequences = GENOME_CACHED_RETRIEVAL.out.sequences
    report    = GENOME_CACHED_RETRIEVAL.out.report
}
