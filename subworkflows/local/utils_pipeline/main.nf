//
// Parameters like an nf-core pipeline, read from nextflow_schema.json by the pipeline itself:
// `--help` (grouped, with defaults), `--version`, and validation that stops the run before any
// task: unknown parameters (with the closest known name), types, enums, patterns, ranges.
//
// Why not the nf-schema plugin: Nextflow fetches plugins from its plugin registry, which is not
// reachable where this pipeline is built and tested (`nextflow plugin install nf-schema@2.5.1`:
// "Plugin with id nf-schema not found in any repository"), and nf-schema has no "did you mean".
// Everything here is plain functions over the parsed schema (JsonSlurper), valid strict syntax.
//

workflow UTILS_PIPELINE {
    take:
    parameters   // map:    the run's params
    schema_path  // string: path of nextflow_schema.json
    name         // string: the pipeline name (manifest.name)
    version      // string: the pipeline version (manifest.version)
    command      // string: an example command for the help text

    main:
    checkParameters(parameters, schema_path, name, version, command)

    emit:
    checked = true   // the parameters passed; the pipeline may start
}

// Help or version (then exit 0), else validate (then error with every problem, one per line).
def checkParameters(Map parameters, String schemaPath, String pipeline, String version, String command) {
    def schema = new groovy.json.JsonSlurper().parse(new File(schemaPath))
    if (parameters.help) {
        log.info paramsHelp(schema, parameters, pipeline, version, command)
        exit 0
    }
    if (parameters.version) {
        log.info "${pipeline} ${version}"
        exit 0
    }
    def problems = validateParameters(schema, parameters)
    if (problems) {
        error problems.join('\n')
    }
}

// name -> [group: title, spec: property map], in the order of the schema's allOf groups.
def schemaProperties(Map schema) {
    def found = [:]
    def groups = schema['$defs'] ?: [:]
    def order = (schema.allOf ?: []).collect { ref -> ref['$ref'].tokenize('/').last() }
    groups.keySet().findAll { key -> !(key in order) }.each { key -> order << key }
    order.each { key ->
        def group = groups[key]
        (group?.properties ?: [:]).each { name, spec -> found[name] = [group: group.title ?: key, spec: spec] }
    }
    (schema.properties ?: [:]).each { name, spec -> found[name] = [group: 'Other options', spec: spec] }
    return found
}

def paramsHelp(Map schema, Map parameters, String pipeline, String version, String command) {
    def known = schemaProperties(schema)
    def width = known.keySet().collect { name -> name.size() }.max() + 4
    def lines = ["${pipeline} v${version}".toString(), schema.description ?: '', '',
                 'Usage:', "  ${command}".toString()]
    known.groupBy { name, info -> info.group }.each { group, members ->
        def shown = members.findAll { name, info -> !info.spec.hidden }
        if (!shown) {
            return
        }
        lines << ''
        lines << "${group}:".toString()
        shown.each { name, info ->
            def spec = info.spec
            def type = spec.enum && spec.enum.size() <= 6 ? spec.enum.join('|') : (spec.type ?: 'string')
            def current = parameters.containsKey(name) ? parameters[name] : null
            def value = current != null && current != false ? current : spec.default
            def text = "  --${name}".padRight(width + 2) + "[${type}] ${spec.description ?: ''}"
            if (value != null && value != '' && spec.type != 'boolean') {
                text += " (default: ${value})"
            }
            lines << text
        }
    }
    lines << ''
    lines << 'Defaults shown are those of this run (profile and environment included).'
    return lines.join('\n')
}

// Every problem with the parameters, each as one line naming the parameter.
def validateParameters(Map schema, Map parameters) {
    def known = schemaProperties(schema)
    def unknown = []
    def problems = []
    parameters.each { name, value ->
        def key = name.toString()
        if (known.containsKey(key)) {
            problems.addAll(checkValue(key, value, known[key].spec))
        } else if (!(key.contains('-') && known.containsKey(kebabToCamel(key)))) {
            // Nextflow also sets fooBar for --foo-bar; only the name nobody declared is unknown
            def closest = closestName(key, known.keySet())
            def hint = closest ? ": did you mean --${closest}?" : ''
            unknown << "Unknown parameter --${key}${hint} (see --help)".toString()
        }
    }
    return unknown + problems
}

def kebabToCamel(String name) {
    def parts = name.tokenize('-')
    return parts[0] + parts.drop(1).collect { part -> part.capitalize() }.join('')
}

def checkValue(String name, Object value, Map spec) {
    if (value == null) {
        return []
    }
    def type = spec.type ?: 'string'
    def text = value.toString()
    if (type == 'boolean') {
        return (value instanceof Boolean || text in ['true', 'false'])
            ? [] : ["--${name}: expected true or false, got '${text}'".toString()]
    }
    if (value instanceof Boolean) {
        // `--name` with no value on the command line arrives as true
        return ["--${name} needs a value (${type})".toString()]
    }
    def problems = []
    if (type == 'integer' && !(text ==~ /-?\d+/)) {
        problems << "--${name}: expected an integer, got '${text}'".toString()
    } else if (type == 'number' && !(text ==~ /-?\d+(\.\d+)?([eE][-+]?\d+)?/)) {
        problems << "--${name}: expected a number, got '${text}'".toString()
    }
    if (problems) {
        return problems
    }
    if (spec.enum && !(text in spec.enum.collect { choice -> choice.toString() })) {
        problems << "--${name}: '${text}' is not one of ${spec.enum.join(', ')}".toString()
    }
    if (spec.pattern && !(text =~ spec.pattern)) {
        problems << "--${name}: '${text}' does not match ${spec.pattern}".toString()
    }
    if (type in ['integer', 'number']) {
        def number = new BigDecimal(text)
        if (spec.minimum != null && number < new BigDecimal(spec.minimum.toString())) {
            problems << "--${name}: ${text} is below the minimum ${spec.minimum}".toString()
        }
        if (spec.maximum != null && number > new BigDecimal(spec.maximum.toString())) {
            problems << "--${name}: ${text} is above the maximum ${spec.maximum}".toString()
        }
    }
    if (spec.format == 'file-path' && spec.exists && !text.contains('://') && !new File(text).isFile()) {
        problems << "--${name}: file ${text} does not exist".toString()
    }
    return problems
}

// The known name nearest to a misspelt one (case-insensitive Levenshtein), or null if none is close.
def closestName(String name, Collection<String> known) {
    def scored = known.collect { candidate ->
        [name: candidate, distance: levenshtein(name.toLowerCase(), candidate.toLowerCase())]
    }
    def best = scored.min { entry -> entry.distance }
    return best && best.distance <= Math.max(2, name.size().intdiv(3)) ? best.name : null
}

// Edit distance, one row at a time (no loops: the strict syntax has none).
def levenshtein(String a, String b) {
    if (!a || !b) {
        return Math.max(a.size(), b.size())
    }
    def first = (0..b.size()).collect { j -> j }
    def last = (0..<a.size()).inject(first) { previous, i ->
        def current = [i + 1]
        (0..<b.size()).each { j ->
            def cost = a[i] == b[j] ? 0 : 1
            current << [previous[j + 1] + 1, current[j] + 1, previous[j] + cost].min()
        }
        current
    }
    return last[b.size()]
}

// The `versions` topic as one YAML document: process -> tool -> version, plus the workflow's own.
// Items are [process, tool, version] tuples, or versions.yml files (storeDir processes).
def softwareVersionsYaml(List items, String pipeline, String version, String nextflowVersion) {
    def tools = [:]
    def add = { String process, String tool, Object value ->
        def name = process.tokenize(':').last()
        if (!tools.containsKey(name)) {
            tools[name] = [:]
        }
        tools[name][tool] = value.toString().trim()
    }
    items.each { item ->
        if (item instanceof java.nio.file.Path) {
            def parsed = new org.yaml.snakeyaml.Yaml().load(item.text) ?: [:]
            parsed.each { process, versions -> versions.each { tool, value -> add(process, tool, value) } }
        } else {
            add(item[0].toString(), item[1].toString(), item[2])
        }
    }
    tools['Workflow'] = [Nextflow: nextflowVersion, (pipeline): version]
    def lines = []
    tools.keySet().sort().each { process ->
        lines << "${process}:".toString()
        tools[process].keySet().sort().each { tool -> lines << "  ${tool}: '${tools[process][tool]}'".toString() }
    }
    return lines.join('\n') + '\n'
}
