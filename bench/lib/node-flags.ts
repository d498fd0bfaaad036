// The node/V8 flags the daemon ships with, so that the bench measures what runs: the
// daemons, the floor process and bench:profile start `node` with these.
// Keep in step with the systemd unit (nixos/service-settings.json); docs/DECISIONS.md
// ("V8 settings", issue 22) has the figures they were chosen by.
export const DAEMON_NODE_FLAGS: string[] = []
