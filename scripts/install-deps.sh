#!/bin/sh
# install-deps.sh - install the Debian packages mainline builds and tests with (chromium:
# the HTML report test renders the page headlessly; slurmctld, slurmd, slurm-client and munge:
# the one-node cluster of scripts/slurm-local.sh that the Slurm tests run; its optional
# accounting, slurmdbd and mariadb-server, is left out),
# only those not installed yet. Used by `make test` and `make deps`.
set -e
here=$(dirname "$0")
want="pkg-config sqlite3 git python3 procps make gcc chromium"
want="$want slurmctld slurmd slurm-client munge"
want="$want $(grep -v '^#' "$here/deps.list" | awk 'NF {print $2}')"
missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends $missing
