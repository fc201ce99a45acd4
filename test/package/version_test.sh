#!/usr/bin/env bash
# One version: CMakeLists.txt's project(hoplink VERSION ...) is what `hoplink --version` prints, and
# debian/changelog's newest entry must say the same (./run package refuses to build otherwise).
#   version_test.sh HOPLINK CHANGELOG PROJECT_VERSION
set -euo pipefail
hoplink=$1 changelog=$2 project=$3
printed=$("$hoplink" --version)
[[ $printed == "hoplink $project" ]] || { echo "FAIL: --version prints '$printed', CMake says $project"; exit 1; }
debian=$(dpkg-parsechangelog -l "$changelog" -S Version)
[[ $debian == "$project" ]] || { echo "FAIL: debian/changelog says $debian, CMakeLists.txt $project (dch -v $project)"; exit 1; }
echo "version $project everywhere"
