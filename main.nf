#!/usr/bin/env nextflow
//
// Retrieve PAVI transcript/protein sequences with each reference genome
// downloaded once into a shared cache and read by index.
//
nextflow.enable.dsl = 2

include { GENOME_CACHED_RETRIEVAL } from './subworkflows/local/genome_cached_retrieval'
include { PROTEIN_MSA as MSA      } from './workflows/protein_msa'

// The payload as text and the folder its relative genome paths are relative to.
def readPayload() {
    if (params.input_seq_regions_str) {
        return [params.input_seq_regions_str, workflow.launchDir.toString()]
    }
    def path = params.input ?: params.input_seq_regions_file
    if (!path) {
        error "No requests: give --input FILE (or --input_seq_regions_file FILE / --input_seq_regions_str JSON)"
    }
    def payload = file(path, checkIfExists: true)
    return [payload.text, payload.parent.toString()]
}

def parsePayload(String text) {
    try {
        def data = new groovy.json.JsonSlurper().parseText(text)
        return data instanceof List ? data : [data]
    } catch (Exception e) {
        error "--input: malformed JSON: ${e.message.readLines()[0]}"
    }
}

def validateParams() {
    if (!(params.output_type in ['protein', 'transcript'])) {
        error "--output_type must be 'protein' or 'transcript', not '${params.output_type}'"
    }
    if (!params.cacheDir) {
        error "--cacheDir must name a directory for the shared genome cache"
    }
}

workflow {
    validateParams()
    def (text, base_dir) = readPayload()
    def cache_dir = file(params.cacheDir).toAbsolutePath().toString()
    def mirror = params.genomeMirror ? file(params.genomeMirror).toAbsolutePath().toString() : ''

    GENOME_CACHED_RETRIEVAL(
        Channel.fromList(parsePayload(text)), cache_dir, mirror, params.output_type, base_dir, params.retrievalBatch
    )
}

// PAVI's protein-msa.nf: the proteins, their alignment and aligned_seq_info.json.
// Run with `-entry PROTEIN_MSA`; --output_type does not apply (always protein).
workflow PROTEIN_MSA {
    validateParams()
    def (text, base_dir) = readPayload()
    def cache_dir = file(params.cacheDir).toAbsolutePath().toString()
    def mirror = params.genomeMirror ? file(params.genomeMirror).toAbsolutePath().toString() : ''

    MSA(Channel.fromList(parsePayload(text)), cache_dir, mirror, base_dir, params.retrievalBatch)
}

workflow.onComplete {
    if (workflow.success) {
        log.info "Sequences and cache report: ${file(params.outdir).toAbsolutePath()}"
        log.info "Genome cache: ${file(params.cacheDir).toAbsolutePath()}"
    }
}
