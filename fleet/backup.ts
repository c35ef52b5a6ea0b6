/**
 * Tenant backups, as plain data and text: the script every host's backup container runs (the same on a Hetzner
 * server and on a local server), the repository it writes to, and what `agentpod status` makes of the status files
 * it leaves. No Pulumi here; the component is components/hostBackup.ts.
 *
 * Why restic (Debian bookworm's 0.14.0, installed in the image by debootstrap): it encrypts on the host with one
 * key (the fleet key), deduplicates and compresses across snapshots and tenants, talks to any S3-compatible store,
 * prunes by retention within its own repository, and a killed run leaves only a lock and unreferenced pack files:
 * snapshots are written last, so earlier ones are never touched. `restic unlock` clears the stale lock.
 *
 * Every host of a fleet writes to the one repository, so restic's repository lock is shared between hosts: a
 * host's prune locks it exclusively for everyone. restic 0.14 fails at once on a held lock (0.16's --retry-lock
 * is not in bookworm), so the script waits for it (restic_waiting), prunes once per run rather than once per
 * tenant, and reads what needs no lock (the config, the snapshot list) without taking one.
 *
 * Why sqlite3 `.backup` rather than `openclaw backup create`: `.backup` is SQLite's online backup API itself, it
 * needs no gateway process (the backup container is not the tenant's container and holds no Docker API), and it
 * applies to every SQLite file of a tenant, whatever OpenClaw version wrote it. The copy is taken as the file's
 * owner (UID 1000), so SQLite never leaves a root-owned -wal or -shm behind for the gateway to trip over.
 */
import { HOST_DATA_MOUNT, TENANT_DATA_ROOT } from "./cloudInit";

/** Where the backup job keeps its status files, staging copies and restic cache, on the host's data volume. */
export const BACKUP_ROOT = `${HOST_DATA_MOUNT}/backups`;
export const BACKUP_STATUS_DIR = `${BACKUP_ROOT}/status`;
/** The staged copy of a tenant, backed up under this stable path (so a tenant keeps its history on any host). */
export const BACKUP_STAGE_DIR = `${BACKUP_ROOT}/staging`;
/** The script's path in the backup container. */
export const BACKUP_SCRIPT_PATH = "/usr/local/bin/agentpod-backup";
/** Exit status of `agentpod-backup check` and `run` when the repository cannot be used (the message names the setting). */
export const REPOSITORY_EXIT = 3;
/** Exit status of `restore-missing` when the tenant has no snapshot to restore. */
export const NO_SNAPSHOT_EXIT = 4;
/** How long a restic command waits for a lock another process holds on the fleet's repository, in seconds. */
export const REPOSITORY_LOCK_WAIT_SECONDS = 600;

export interface BackupSchedule {
  /** Seconds between two successful backups of a tenant (the recovery point). */
  readonly intervalSeconds: number;
  /** The most recent snapshots kept whatever their age (several `backup now` within an hour all stay). */
  readonly keepLast: number;
  readonly keepHourly: number;
  readonly keepDaily: number;
  readonly keepWeekly: number;
}

export const DEFAULT_BACKUP_INTERVAL = "1h";
export const DEFAULT_RETENTION = { keepLast: 10, keepHourly: 24, keepDaily: 7, keepWeekly: 4 } as const;

/** "90s", "30m", "1h", "1d" in seconds, or undefined when it is not such a duration (at least 60 s). */
export function parseInterval(text: string): number | undefined {
  const match = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as "s" | "m" | "h" | "d"];
  return seconds >= 60 ? seconds : undefined;
}

/**
 * The restic repository of a fleet: one prefix per fleet inside the bucket. Retention and prune act on this
 * repository only, so nothing else in the bucket (another fleet, another application) is ever deleted.
 */
export const repositoryUrl = (endpoint: string, bucket: string, fleet: string) => `s3:${endpoint.replace(/\/+$/, "")}/${bucket}/${fleet}`;

/** The environment of the backup container that is not secret. */
export function backupEnvironment(options: { endpoint: string; bucket: string; fleet: string; schedule: BackupSchedule }): string[] {
  const { endpoint, bucket, fleet, schedule } = options;
  return [
    `RESTIC_REPOSITORY=${repositoryUrl(endpoint, bucket, fleet)}`,
    `BACKUP_ENDPOINT=${endpoint}`,
    `BACKUP_BUCKET=${bucket}`,
    `BACKUP_FLEET=${fleet}`,
    `BACKUP_INTERVAL=${schedule.intervalSeconds}`,
    `BACKUP_KEEP_LAST=${schedule.keepLast}`,
    `BACKUP_KEEP_HOURLY=${schedule.keepHourly}`,
    `BACKUP_KEEP_DAILY=${schedule.keepDaily}`,
    `BACKUP_KEEP_WEEKLY=${schedule.keepWeekly}`,
  ];
}

/**
 * The backup container's one program (bash). Subcommands:
 *   loop                      every minute: back up each tenant whose last success is older than the interval
 *                             (a failed tenant is retried after 5 minutes at most); writes a heartbeat
 *   run [tenant...]           back up now (all tenants, or those named); exit 1 when one failed, 3 when the
 *                             repository cannot be used
 *   check                     open the repository (create it only when it does not exist); exit 3 naming the setting
 *   snapshots <tenant>        the tenant's snapshots, JSON
 *   restore <tenant> <id|latest>   restore into tenants/.incoming-<tenant> (nothing live is touched)
 *   swap <tenant>             tenants/<tenant> -> tenants/.previous-<tenant>, .incoming-<tenant> -> tenants/<tenant>;
 *                             for a tenant with its own disk, its data/ -> data.previous/ and the restored copy into
 *                             data/, on the disk (refused, nothing changed, when both do not fit)
 *   drop-previous <tenant>    delete the previous data (after the gateway is healthy again)
 *   probe <tenant>            "present" or "missing": whether tenants/<tenant> exists
 *   restore-missing <tenant>  when tenants/<tenant> is missing: restore the latest snapshot into place (exit 4: none)
 * Runs and restores hold one lock per host, so the schedule and an operator never overlap; the loop decides which
 * tenants are due under that lock, so a tenant an operator has just backed up is not backed up again.
 */
export function renderBackupScript(): string {
  return `#!/bin/bash
# agentpod-backup: generated by fleet/backup.ts (renderBackupScript); do not edit on the host.
set -uo pipefail
TENANTS=${TENANT_DATA_ROOT}
ROOT=${BACKUP_ROOT}
STATUS=${BACKUP_STATUS_DIR}
STAGE=${BACKUP_STAGE_DIR}
export RESTIC_CACHE_DIR=$ROOT/cache
RETRY=$(( BACKUP_INTERVAL < 300 ? BACKUP_INTERVAL : 300 ))
mkdir -p "$STATUS" "$RESTIC_CACHE_DIR" "$STAGE" && chmod 711 "$ROOT" "$STAGE" && chmod 700 "$STATUS" "$RESTIC_CACHE_DIR" || exit 1

log() { echo "$(date -u +%FT%TZ) $*" >&2; }
valid() { [[ "$1" =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$ ]] || { echo "not a tenant name: $1" >&2; exit 2; }; }
locked() { exec 9>"$ROOT/.lock"; flock 9; }

# restic, waiting while another process holds the repository's lock (another host's prune, a restore) instead of
# failing at once as restic 0.14 does; after ${REPOSITORY_LOCK_WAIT_SECONDS} s it fails as restic did. stdout passes through.
restic_waiting() {
  local err rc deadline=$(( $(date +%s) + ${REPOSITORY_LOCK_WAIT_SECONDS} )); err=$(mktemp)
  while :; do
    restic "$@" 2>"$err"; rc=$?
    if [ $rc -ne 0 ] && grep -q 'repository is already locked' "$err" && [ "$(date +%s)" -lt $deadline ]; then sleep 5; continue; fi
    cat "$err" >&2; rm -f "$err"; return $rc
  done
}

# One line naming the setting behind a repository error (restic's stderr in $1).
explain() {
  if grep -qE 'InvalidAccessKeyId|No user exists with the provided access key|Access Key Id you provided does not exist' "$1"; then echo "the object store does not know the access key: check agentpod:backupAccessKeyId"
  elif grep -qE 'SignatureDoesNotMatch|signature we calculated does not match' "$1"; then echo "the object store refused the request signature: check agentpod:backupSecretAccessKey"
  elif grep -qE 'NoSuchBucket|bucket does not exist' "$1"; then echo "bucket $BACKUP_BUCKET does not exist at $BACKUP_ENDPOINT: check agentpod:backupBucket"
  elif grep -qiE 'AccessDenied|Access Denied|Forbidden' "$1"; then echo "access denied by $BACKUP_ENDPOINT: check agentpod:backupAccessKeyId and agentpod:backupSecretAccessKey"
  elif grep -qE 'wrong password|no key found' "$1"; then echo "the repository's key is not the fleet key: check agentpod:backupPassword"
  elif grep -qiE 'connection refused|no such host|i/o timeout|dial tcp|server misbehaving|unreachable|malformed HTTP' "$1"; then echo "the object store at $BACKUP_ENDPOINT does not answer: check agentpod:backupEndpoint"
  else echo "restic: $(grep -v '^$' "$1" | tail -n 3 | tr '\\n' ' ')"; fi
}

# Opens the repository. It is created only when restic says there is none at this path: an authentication,
# bucket or network error never leads to \`restic init\`. Stale locks (a killed run) are removed.
REPO_ERROR=""
ensure_repo() {
  local err; err=$(mktemp)
  if timeout 180 restic --no-lock cat config >/dev/null 2>"$err"; then
    rm -f "$err"; restic unlock >/dev/null 2>&1; return 0
  fi
  if grep -q 'Is there a repository at the following location' "$err" && grep -qE 'key does not exist|NoSuchKey|no such file' "$err" \\
    && ! grep -qiE 'bucket|denied|forbidden|access key|signature|password' "$err"; then
    log "no repository at $RESTIC_REPOSITORY: creating it"
    if timeout 180 restic init >/dev/null 2>"$err"; then rm -f "$err"; return 0; fi
  fi
  REPO_ERROR=$(explain "$err"); rm -f "$err"; return 1
}

# A consistent copy of a tenant's directory in $STAGE/<tenant>: every SQLite database through SQLite's online
# backup (as the file's owner), every other file copied; -wal, -shm and -journal files are never copied.
stage() {
  local t=$1 src=$TENANTS/$1 dst=$STAGE/$1 walk status
  rm -rf "$dst" && mkdir "$dst" && chown --reference="$src" "$dst" && chmod --reference="$src" "$dst" || return 1
  walk=$(mktemp)
  # A live gateway creates and deletes files and directories while this walks: one that vanished between being
  # listed and being reached is not an error (find's "No such file or directory" on a path inside, and the checks
  # below); any other error is.
  (cd "$src" && LC_ALL=C find . -mindepth 1 \\( -name '*-wal' -o -name '*-shm' -o -name '*-journal' \\) -prune -o -print0) 2>"$walk" |
    while IFS= read -r -d '' p; do
      s="$src/\${p#./}" d="$dst/\${p#./}"
      if [ -d "$s" ] && [ ! -L "$s" ]; then
        { mkdir -p "$d" && chown --reference="$s" "$d" && chmod --reference="$s" "$d"; } 2>/dev/null || [ ! -e "$s" ] ||
          { echo "cannot copy directory \${p#./}" >&2; exit 1; }
      elif [ -f "$s" ] && [ ! -L "$s" ] && [ "$(head -c 15 "$s" 2>/dev/null | tr -d '\\0')" = "SQLite format 3" ]; then
        setpriv --reuid="$(stat -c %u "$s")" --regid="$(stat -c %g "$s")" --clear-groups \\
          sqlite3 "$s" ".timeout 10000" ".backup '$d'" || { echo "sqlite3 .backup of \${p#./} failed" >&2; exit 1; }
        chmod --reference="$s" "$d" || exit 1
      else
        cp -a "$s" "$d" 2>/dev/null || [ ! -e "$s" ] || { echo "cannot copy \${p#./}" >&2; exit 1; }
      fi
    done
  status=("\${PIPESTATUS[@]}")
  local errors; errors=$(grep -v "^find: '\\./.*': No such file or directory$" "$walk"); rm -f "$walk"
  if [ -n "$errors" ]; then echo "$errors" >&2; return 1; fi
  if [ "\${status[0]}" -ne 0 ] && [ ! -d "$src" ]; then echo "$src vanished while it was copied" >&2; return 1; fi
  [ "\${status[1]}" -eq 0 ]
}

field() { jq -r "$2 // empty" "$STATUS/$1.json" 2>/dev/null; }
write_status() { # tenant lastSuccess snapshot addedBytes error [seconds the run took]
  jq -n --arg t "$1" --argjson run "$(date +%s)" --arg ok "$2" --arg snap "$3" --arg added "$4" --arg err "$5" --arg took "\${6:-}" \\
    '{tenant: $t, lastRun: $run, lastSuccess: ($ok | tonumber? // null), snapshot: $snap, addedBytes: ($added | tonumber? // null), lastError: $err, seconds: ($took | tonumber? // null)}' \\
    >"$STATUS/.$1.json" && mv "$STATUS/.$1.json" "$STATUS/$1.json"
}

backup_one() {
  local t=$1 err out snap added started; err=$(mktemp); started=$(date +%s.%N)
  if ! stage "$t" 2>"$err"; then
    write_status "$t" "$(field "$t" .lastSuccess)" "$(field "$t" .snapshot)" "$(field "$t" .addedBytes)" "staging failed: $(tail -n 1 "$err")"
    echo "$t: FAILED (staging: $(tail -n 1 "$err"))"; rm -rf "$err" "$STAGE/$t"; return 1
  fi
  if out=$(cd "$STAGE" && restic_waiting backup --json --quiet --host "$BACKUP_FLEET" --tag "tenant=$t" "$STAGE/$t" 2>"$err" | jq -c 'select(.message_type == "summary")') && [ -n "$out" ]; then
    snap=$(jq -r .snapshot_id <<<"$out"); added=$(jq -r .data_added <<<"$out")
    write_status "$t" "$(date +%s)" "$snap" "$added" "" "$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')"
    echo "$t: snapshot \${snap:0:8} (+$added bytes)"
    rm -rf "$err" "$STAGE/$t"; return 0
  fi
  local why; why=$(explain "$err")
  write_status "$t" "$(field "$t" .lastSuccess)" "$(field "$t" .snapshot)" "$(field "$t" .addedBytes)" "$why"
  echo "$t: FAILED ($why)"; rm -rf "$err" "$STAGE/$t"; return 1
}

# Tenants with data to back up: directories that are not empty (a missing or empty one is never snapshotted, so an
# empty snapshot can never become a tenant's latest).
tenants() { for d in "$TENANTS"/*/; do d=\${d%/}; [ -d "$d" ] && [ -n "$(ls -A "$d" 2>/dev/null)" ] && echo "\${d##*/}"; done; }

# Retention for the tenants named, each tenant's snapshots on their own (grouped by path: one per tenant), in one
# exclusive lock of the fleet's repository per run.
forget_old() {
  local err tags=(); err=$(mktemp)
  for t in "$@"; do tags+=(--tag "tenant=$t"); done
  restic_waiting forget --quiet --host "$BACKUP_FLEET" "\${tags[@]}" --group-by host,paths --keep-last "$BACKUP_KEEP_LAST" \\
    --keep-hourly "$BACKUP_KEEP_HOURLY" --keep-daily "$BACKUP_KEEP_DAILY" --keep-weekly "$BACKUP_KEEP_WEEKLY" --prune >/dev/null 2>"$err" ||
    log "forget/prune of $* failed: $(explain "$err")"
  rm -f "$err"
}

# Backs up the tenants named; the caller holds the host's lock.
run() {
  if ! ensure_repo; then
    for t in "$@"; do write_status "$t" "$(field "$t" .lastSuccess)" "$(field "$t" .snapshot)" "$(field "$t" .addedBytes)" "$REPO_ERROR"; done
    echo "backup repository: $REPO_ERROR" >&2; return ${REPOSITORY_EXIT}
  fi
  local failed=0 backed_up=()
  for t in "$@"; do
    if [ -z "$(ls -A "$TENANTS/$t" 2>/dev/null)" ]; then echo "$t: no data on this host"; failed=1; continue; fi
    if backup_one "$t"; then backed_up+=("$t"); else failed=1; fi
  done
  [ \${#backed_up[@]} -eq 0 ] || forget_old "\${backed_up[@]}"
  return $failed
}

due() {
  local t=$1 now last ok err; now=$(date +%s)
  [ -f "$STATUS/$t.json" ] || return 0
  last=$(field "$t" .lastRun); ok=$(field "$t" .lastSuccess); err=$(field "$t" .lastError)
  if [ -n "$err" ]; then [ $(( now - \${last:-0} )) -ge "$RETRY" ]; else [ $(( now - \${ok:-0} )) -ge "$BACKUP_INTERVAL" ]; fi
}

cmd=\${1:-}; shift || true
case "$cmd" in
  loop)
    while :; do
      date +%s >"$STATUS/.heartbeat"
      (locked; due_now=(); for t in $(tenants); do due "$t" && due_now+=("$t"); done
        [ \${#due_now[@]} -eq 0 ] || run "\${due_now[@]}") | while IFS= read -r line; do log "$line"; done
      sleep 60 & wait $!
    done ;;
  run)
    for t in "$@"; do valid "$t"; done
    if [ $# -eq 0 ]; then mapfile -t all < <(tenants); set -- "\${all[@]}"; fi
    [ $# -gt 0 ] || { echo "no tenant data on this host"; exit 0; }
    locked; run "$@" ;;
  check)
    locked; ensure_repo && { echo "repository $RESTIC_REPOSITORY: ok"; exit 0; }
    echo "$REPO_ERROR"; exit ${REPOSITORY_EXIT} ;;
  snapshots)
    valid "$1"; ensure_repo || { echo "$REPO_ERROR" >&2; exit ${REPOSITORY_EXIT}; }
    restic --no-lock snapshots --json --host "$BACKUP_FLEET" --tag "tenant=$1" ;;
  restore)
    valid "$1"; t=$1 snap=\${2:-latest}; locked
    ensure_repo || { echo "$REPO_ERROR" >&2; exit ${REPOSITORY_EXIT}; }
    if [ "$snap" != latest ]; then
      restic --no-lock snapshots --json --host "$BACKUP_FLEET" --tag "tenant=$t" | jq -e --arg s "$snap" 'map(select(.id | startswith($s))) | length == 1' >/dev/null ||
        { echo "snapshot $snap is not a snapshot of tenant $t (agentpod backup list $t)" >&2; exit 1; }
    fi
    tmp=$TENANTS/.restoring-$t; rm -rf "$tmp" "$TENANTS/.incoming-$t"
    restic_waiting restore "$snap" --host "$BACKUP_FLEET" --tag "tenant=$t" --target "$tmp" >/dev/null || { rm -rf "$tmp"; exit 1; }
    [ -d "$tmp$STAGE/$t" ] || { rm -rf "$tmp"; echo "snapshot $snap has no data of tenant $t" >&2; exit 1; }
    mv "$tmp$STAGE/$t" "$TENANTS/.incoming-$t" && rm -rf "$tmp" && chown -R 1000:1000 "$TENANTS/.incoming-$t" && chmod 700 "$TENANTS/.incoming-$t" || exit 1
    echo "restored $snap of $t into $TENANTS/.incoming-$t" ;;
  swap)
    valid "$1"; t=$1; [ -d "$TENANTS/.incoming-$t" ] || { echo "nothing restored for $t" >&2; exit 1; }
    rm -rf "$TENANTS/.previous-$t"
    if [ -L "$TENANTS/$t" ]; then
      # The tenant's own disk (fleet/hostLayout.ts): the previous data stays on it beside the restored copy.
      live=$(cd "$TENANTS/$t" && pwd -P) || { echo "the disk of $t is not mounted" >&2; exit 1; }
      rm -rf "$live.previous" && mv "$live" "$live.previous" || exit 1
      if ! cp -a "$TENANTS/.incoming-$t" "$live"; then
        rm -rf "$live"; mv "$live.previous" "$live"; echo "the restored data of $t does not fit its disk beside the previous data: nothing was changed" >&2; exit 1
      fi
      rm -rf "$TENANTS/.incoming-$t"
    else
      if [ -e "$TENANTS/$t" ]; then mv "$TENANTS/$t" "$TENANTS/.previous-$t" || exit 1; fi
      mv "$TENANTS/.incoming-$t" "$TENANTS/$t"
    fi ;;
  drop-previous)
    valid "$1"; rm -rf "$TENANTS/.previous-$1"
    if [ -L "$TENANTS/$1" ]; then live=$(cd "$TENANTS/$1" && pwd -P) && rm -rf "$live.previous"; fi ;;
  probe)
    valid "$1"; if [ -e "$TENANTS/$1" ] || [ -L "$TENANTS/$1" ]; then echo present; else echo missing; fi ;;
  restore-missing)
    valid "$1"; t=$1
    # A dangling link is a disk that is not mounted: its data exists, and nothing is restored over it.
    if [ -e "$TENANTS/$t" ] || [ -L "$TENANTS/$t" ]; then echo "present"; exit 0; fi
    count=$("$0" snapshots "$t" | jq length) || exit ${REPOSITORY_EXIT}
    [ "$count" -gt 0 ] || { echo "no snapshot of $t in $RESTIC_REPOSITORY" >&2; exit ${NO_SNAPSHOT_EXIT}; }
    "$0" restore "$t" latest >/dev/null && "$0" swap "$t" && echo "restored" ;;
  *) echo "usage: agentpod-backup loop|run [tenant...]|check|snapshots <t>|restore <t> <id|latest>|swap <t>|drop-previous <t>|restore-missing <t>" >&2; exit 2 ;;
esac
`;
}

/** A tenant's status file, as the backup script writes it. */
export interface BackupRecord {
  readonly tenant: string;
  /** Epoch seconds of the last run, successful or not. */
  readonly lastRun: number;
  /** Epoch seconds of the last successful backup, or null. */
  readonly lastSuccess: number | null;
  readonly snapshot: string;
  readonly addedBytes: number | null;
  /** Empty when the last run succeeded. */
  readonly lastError: string;
}

/** Script printing every status file of a host as one JSON line, then "heartbeat <epoch>" when the loop runs. */
export const readBackupStatusScript = () =>
  `d=${BACKUP_STATUS_DIR}; for f in $d/*.json; do [ -f "$f" ] && tr -d '\\n' <"$f" && echo; done; [ -f $d/.heartbeat ] && echo "heartbeat $(cat $d/.heartbeat)"; true`;

export function parseBackupStatus(text: string): { records: BackupRecord[]; heartbeat?: number } {
  const records: BackupRecord[] = [];
  let heartbeat: number | undefined;
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    if (line.startsWith("heartbeat ")) {
      heartbeat = Number(line.slice("heartbeat ".length));
      continue;
    }
    try {
      const r = JSON.parse(line) as Partial<BackupRecord>;
      if (typeof r.tenant === "string") {
        records.push({
          tenant: r.tenant,
          lastRun: Number(r.lastRun ?? 0),
          lastSuccess: typeof r.lastSuccess === "number" ? r.lastSuccess : null,
          snapshot: r.snapshot ?? "",
          addedBytes: typeof r.addedBytes === "number" ? r.addedBytes : null,
          lastError: r.lastError ?? "",
        });
      }
    } catch {
      /* a status file being replaced: skipped */
    }
  }
  return heartbeat === undefined ? { records } : { records, heartbeat };
}

export type BackupVerdict = "ok" | "pending" | "stale" | "failed" | "unknown";

/**
 * What `status` says of one tenant's backups. Failing (status exits 1): the last run failed, or the last success
 * is older than twice the interval. A tenant with no backup yet is "pending" while its host's job is alive (the job
 * backs up a new tenant within a minute), "stale" once the tenant has waited longer than twice the interval.
 */
export function backupVerdict(record: BackupRecord | undefined, nowSeconds: number, intervalSeconds: number): { verdict: BackupVerdict; age?: number } {
  if (!record) return { verdict: "pending" };
  const age = record.lastSuccess === null ? undefined : nowSeconds - record.lastSuccess;
  if (record.lastError) return age === undefined ? { verdict: "failed" } : { verdict: "failed", age };
  if (age === undefined) return { verdict: "pending" };
  return { verdict: age > 2 * intervalSeconds ? "stale" : "ok", age };
}

export const isBackupFailing = (verdict: BackupVerdict) => verdict === "failed" || verdict === "stale" || verdict === "unknown";

/** "42s", "5m", "3h", "2d": an age, briefly. */
export function formatAge(seconds: number): string {
  if (seconds < 120) return `${Math.max(0, Math.round(seconds))}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86400)}d`;
}
