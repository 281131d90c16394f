#!/usr/bin/env bash
# Install or update WardLink on a ward node (Raspberry Pi OS / Debian 12+, Python >= 3.11).
#
#   sudo deploy/raspberrypi/install.sh
#
# Safe to run again: it updates the package and the unit, and never overwrites an existing
# /etc/wardlink/wardlink.toml, secrets.env or edited udev rules. It does not start the service.
set -euo pipefail

if [[ ${EUID} -ne 0 ]]; then
  echo "install.sh: must run as root (it creates a user and writes /opt, /etc and /var/lib)." >&2
  echo "            run: sudo $0" >&2
  exit 1
fi

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "${HERE}/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
SERVICE_USER="wardlink"
PREFIX="/opt/wardlink"
VENV="${PREFIX}/venv"
ETC="/etc/wardlink"
STATE="/var/lib/wardlink"
UNIT="/etc/systemd/system/wardlink.service"
RULES="/etc/udev/rules.d/99-wardlink.rules"

say() { echo "[wardlink-install] $*"; }

# Python 3.11+ with venv support.
if ! "${PYTHON}" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "install.sh: ${PYTHON} is missing or older than 3.11; install Python 3.11+ first." >&2
  exit 1
fi
if ! "${PYTHON}" -c 'import ensurepip, venv' 2>/dev/null; then
  say "installing python3-venv"
  DEBIAN_FRONTEND=noninteractive apt-get -y -q install python3-venv
fi

# Dedicated system user, member of dialout for serial ports.
if ! id -u "${SERVICE_USER}" >/dev/null 2>&1; then
  say "creating system user ${SERVICE_USER}"
  useradd --system --user-group --home-dir "${STATE}" --no-create-home \
    --shell /usr/sbin/nologin "${SERVICE_USER}"
fi
usermod -a -G dialout "${SERVICE_USER}"

# Virtual environment and the package (reinstalled from this checkout on every run).
install -d -m 0755 -o root -g root "${PREFIX}"
if [[ ! -x "${VENV}/bin/python" ]]; then
  say "creating ${VENV}"
  "${PYTHON}" -m venv "${VENV}"
fi
"${VENV}/bin/python" -m pip install -q --upgrade pip
say "installing WardLink from ${REPO}"
"${VENV}/bin/python" -m pip install -q --upgrade "${REPO}"
install -m 0644 "${REPO}/README.md" "${PREFIX}/README.md"

# Configuration: root owns it, the service reads it; never overwritten.
install -d -m 0750 -o root -g "${SERVICE_USER}" "${ETC}"
if [[ ! -e "${ETC}/wardlink.toml" ]]; then
  say "writing ${ETC}/wardlink.toml from wardlink.example.toml (edit it before starting)"
  sed -e 's|^path = "./demo-data/outbox.db".*$|path = "/var/lib/wardlink/outbox.db"|' \
    "${REPO}/wardlink.example.toml" > "${ETC}/wardlink.toml.new"
  chown root:"${SERVICE_USER}" "${ETC}/wardlink.toml.new"
  chmod 0640 "${ETC}/wardlink.toml.new"
  mv "${ETC}/wardlink.toml.new" "${ETC}/wardlink.toml"
else
  say "keeping existing ${ETC}/wardlink.toml"
fi
if [[ ! -e "${ETC}/secrets.env" ]]; then
  install -m 0600 -o root -g root /dev/null "${ETC}/secrets.env"
  echo "# WARDLINK_MQTT__PASSWORD=..." > "${ETC}/secrets.env"
fi

# State directory for the outbox: only the service user may read it (patient data).
install -d -m 0700 -o "${SERVICE_USER}" -g "${SERVICE_USER}" "${STATE}"

# systemd unit (always updated) and udev rules (kept when edited locally).
install -m 0644 "${HERE}/wardlink.service" "${UNIT}"
if [[ ! -e "${RULES}" ]] || cmp -s "${HERE}/99-wardlink.rules" "${RULES}"; then
  install -m 0644 "${HERE}/99-wardlink.rules" "${RULES}"
else
  say "keeping locally edited ${RULES}"
fi
if command -v udevadm >/dev/null 2>&1; then
  udevadm control --reload-rules || say "udevadm could not reload rules (container?)"
fi
if [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
else
  say "systemd is not running here; run 'systemctl daemon-reload' on the node"
fi

if ! runuser -u "${SERVICE_USER}" -- "${VENV}/bin/wardlink" config check "${ETC}/wardlink.toml"; then
  say "fix the configuration above before starting the service"
fi

cat <<NEXT
[wardlink-install] done. Next:
  1. edit ${ETC}/wardlink.toml (gateway ids, broker url, devices); secrets go in ${ETC}/secrets.env
  2. sudo -u ${SERVICE_USER} ${VENV}/bin/wardlink config check ${ETC}/wardlink.toml
  3. sudo systemctl enable --now wardlink
  4. journalctl -u wardlink -f ; curl -s http://127.0.0.1:9108/readyz
NEXT
