#!/usr/bin/env bash
# Resolve Nextflow from Maven Central into .nextflow-dist/ (git-ignored).
# Nextflow's own download sites are unreachable here; Central carries the full
# dependency tree of 24.10.0 (24.10.1-24.10.3 are not published there, 24.10.4+
# and 24.04.x miss io.nextflow:nf-httpfs / nf-commons, 25.x needs io.seqera libs).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
version="$(cat "$here/scripts/NEXTFLOW_VERSION")"
dist="$here/.nextflow-dist"
if [[ -f "$dist/lib/nextflow-$version.jar" ]]; then
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>nextflow-dist</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>io.nextflow</groupId><artifactId>nextflow</artifactId><version>$version</version></dependency>
  </dependencies>
</project>
POM
rm -rf "$dist.tmp"
mvn -q -B -f "$tmp/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$dist.tmp/lib"
rm -rf "$dist"
mv "$dist.tmp" "$dist"
echo "Nextflow $version installed in $dist"
