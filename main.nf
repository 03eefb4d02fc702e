#!/usr/bin/env nextflow
//
// Retrieve PAVI transcript/protein sequences with each reference genome
// downloaded once into a shared cache and read by index.
//
nextflow.enable.dsl = 2
nextflow.preview.topic = true   // tool versions (topic `versions`); stable from Nextflow 25.04

include { GENOME_CACHED_RETRIEVAL } from './subworkflows/local/genome_cached_retrieval'
include { PROTEIN_MSA as MSA      } from './workflows/protein_msa'
include { UTILS_PIPELINE; checkParameters; softwareVersionsYaml } from './subworkflows/local/utils_pipeline'

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

def schemaPath() {
    return "${projectDir}/nextflow_schema.json"
}

def exampleCommand() {
    return 'nextflow run main.nf --input requests.json --cacheDir /shared/genomes/cache --outdir results'
}

// What the schema cannot say: the cache must be named, and where tasks run on other hosts
// (-profile slurm sets sharedCacheDir) it must be an existing absolute directory they share.
def checkCacheDir() {
    if (!params.cacheDir) {
        error params.sharedCacheDir
            ? "--cacheDir is required with this profile: an existing directory on the file system all nodes share"
            : "--cacheDir must name a directory for the shared genome cache"
    }
    if (params.sharedCacheDir) {
        def dir = params.cacheDir.toString()
        if (!dir.startsWith('/')) {
            error "--cacheDir ${dir}: must be an absolute path on the file system all nodes share"
        }
        if (!new File(dir).isDirectory()) {
            error "--cacheDir ${dir}: no such directory (create it on the shared file system first)"
        }
    }
}

// Help, version, schema validation, then the cache checks: before any task starts.
def validateParams() {
    checkParameters(params, schemaPath(), workflow.manifest.name, workflow.manifest.version, exampleCommand())
    checkCacheDir()
}

workflow {
    UTILS_PIPELINE(
        params, schemaPath(), workflow.manifest.name, workflow.manifest.version, exampleCommand()
    )
    checkCacheDir()
    def (text, base_dir) = readPayload()
    def cache_dir = file(params.cacheDir).toAbsolutePath().toString()
    def mirror = params.genomeMirror ? file(params.genomeMirror).toAbsolutePath().toString() : ''

    GENOME_CACHED_RETRIEVAL(
        channel.fromList(parsePayload(text)), cache_dir, mirror, params.output_type, base_dir, params.retrievalBatch
    )

    publishVersions(params.outdir)

    // inside the entry workflow: the strict syntax allows no top-level statements
    def outdir = file(params.outdir).toAbsolutePath().toString()
    workflow.onComplete {
        completionMessage(outdir, cache_dir)
    }
}

// Every task's tool versions in <outdir>/pipeline_info/software_versions.yml, as nf-core pipelines do
def publishVersions(outdir) {
    channel.topic('versions')
        .unique()
        .toList()
        .map { items ->
            softwareVersionsYaml(items, workflow.manifest.name, workflow.manifest.version, nextflow.version.toString())
        }
        .collectFile(name: 'software_versions.yml', storeDir: "${outdir.toString().replaceAll('/+$', '')}/pipeline_info")
}

def completionMessage(String outdir, String cacheDir) {
    if (workflow.success) {
        log.info "Sequences and cache report: ${outdir}"
        log.info "Genome cache: ${cacheDir}"
    }
}

// PAVI's protein-msa.nf: the proteins, their alignment and aligned_seq_info.json.
// Run with `-entry PROTEIN_MSA`; --output_type does not apply (always protein).
workflow PROTEIN_MSA {
    validateParams()
    def (text, base_dir) = readPayload()
    def cache_dir = file(params.cacheDir).toAbsolutePath().toString()
    def mirror = params.genomeMirror ? file(params.genomeMirror).toAbsolutePath().toString() : ''

    MSA(channel.fromList(parsePayload(text)), cache_dir, mirror, base_dir, params.retrievalBatch)
    publishVersions(params.publish_dir ? params.publish_dir_prefix + params.publish_dir : params.outdir)
}
