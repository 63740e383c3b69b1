#!/bin/sh
# install-deps.sh - install the Debian packages mainline builds and tests with (chromium:
# the HTML report test renders the page headlessly; slurmctld, slurmd, slurm-client and munge:
# the one-node cluster of scripts/slurm-local.sh that the Slurm tests run; its optional
# accounting, slurmdbd and mariadb-server, is left out),
# only those not installed yet. Used by `make test` and `make deps`. Then, best effort,
# python3-torch for the PyTorch example sweep (t2023 skips it without torch): a failure to
# install it says so and is not an error.
set -e
here=$(dirname "$0")
want="pkg-config sqlite3 git python3 procps make gcc chromium"
want="$want slurmctld slurmd slurm-client munge"
want="$want $(grep -v '^#' "$here/deps.list" | awk 'NF {print $2}')"
installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
missing=""
for p in $want; do
    installed "$p" || missing="$missing $p"
done
optional=""
installed python3-torch || optional="python3-torch"
[ -z "$missing$optional" ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq || [ -z "$missing" ]
if [ -n "$missing" ]; then
    echo "installing:$missing"
    $sudo apt-get install -y -qq --no-install-recommends $missing
fi
if [ -n "$optional" ]; then
    echo "installing (optional): $optional"
    $sudo apt-get install -y -qq --no-install-recommends $optional ||
        echo "could not install $optional: the PyTorch example test will be skipped"
fi
exit 0
