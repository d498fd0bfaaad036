// Where things are, on the host and inside the containers.
import { realpathSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

/** the project checkout (bind-mounted read-only into every container) */
export const REPO = resolve(here, '../../..')
export const HARNESS_DIR = here
export const CLEANUP_SH = resolve(here, '../cleanup.sh')

/** cached Debian rootfs, built once by build-rootfs.sh (outside the repo) */
export const ROOTFS = process.env.DM_ROOTFS ?? '/var/cache/data-mesher-test/rootfs'

/** per-cluster scratch directories: <WORK_BASE>/<cluster id>/ */
export const WORK_BASE = '/var/tmp'
/** every namespace, machine, directory and process of the harness carries this prefix */
export const PREFIX = 'dmt-'
/** suite runs list the clusters they made here, so an interrupted run can clean up */
export const RUNS_DIR = '/var/tmp/dmt-runs'

/** the host's Node binary, bind-mounted into the containers */
export const NODE_BIN = realpathSync(process.execPath)

// Inside a container:
export const C_PROJECT = '/opt/data-mesher'
export const C_NODE = '/usr/local/bin/node'
export const C_CLI = '/usr/local/bin/data-mesher'
export const C_STATE = '/var/lib/data-mesher'
export const C_FILES = `${C_STATE}/files`
export const C_CONFIG_DIR = '/etc/data-mesher'
export const C_CONFIG = `${C_CONFIG_DIR}/config.toml`
export const C_TEST_DIR = '/etc/dmt'
export const C_CONSUMER_LOG_DIR = '/var/log/dm-consumer'
export const C_UNIT_DIR = '/usr/local/lib/systemd/system'
export const C_TMPFILES_DIR = '/usr/local/lib/tmpfiles.d'
export const C_API_URL = 'unix:///run/data-mesher/api.sock'

/** fixed ids of the users baked into the rootfs (build-rootfs.sh) */
export const DAEMON_UID = 900
export const CONSUMER_UID = 901
