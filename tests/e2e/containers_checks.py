#!/usr/bin/env python3
"""The checks of issue 10 over an alert file, shared by the live suite (tests/e2e/containers.sh)
and the replay of its capture (tests/e2e/containers_replay.sh).

    containers_checks.py live|replay ALERTS.jsonl MANIFEST.json

MANIFEST (written by containers.sh, kept beside the capture as tests/data/containers.json) lists
the phases of the run with their start and end times (the audit clock: CLOCK_REALTIME seconds)
and the containers the detections used (64-hex id, runtime, name, image). An alert belongs to the
phase whose window holds its `time`, so the same checks read a live alert file and a replay's.

Live, a container must be named (name and image); in a replay they may be absent (the daemons'
files are not there), but when present they must be right. Ids, runtimes and rule ids must match
in both. Prints one PASS/FAIL line per check and exits 1 if any failed.
"""
import hashlib
import json
import os
import pwd
import shutil
import sys
from datetime import datetime, timezone

SEV = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
FIM_OPS = ["chmod", "chown", "utimes", "write", "link", "rename", "unlink"]


def epoch(t):
    return datetime.strptime(t.replace("Z", "+00:00"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() \
        if "." in t else datetime.strptime(t.replace("Z", "+00:00"), "%Y-%m-%dT%H:%M:%S%z").timestamp()


def describe(a):
    """One line per alert for a failure: rule, severity, summary, the acting process, container."""
    c = a.get("container") or {}
    proc = a.get("process") or {}
    f = a.get("file") or {}
    return "[%s %s] %s | exe=%s argv=%s pid=%s ppid=%s | file=%s %s | container=%s" % (
        a["rule"]["id"], a["rule"]["severity"], a.get("summary", ""), proc.get("exe"),
        (proc.get("argv") or [])[:6], proc.get("pid"), proc.get("ppid"), f.get("operation"), f.get("path"),
        (c.get("runtime"), (c.get("id") or "")[:16], c.get("name"), c.get("image")) if c else None)


class Checks:
    def __init__(self, mode, alerts_path, manifest_path):
        self.mode = mode
        self.manifest = json.load(open(manifest_path))
        self.alerts = []
        try:
            for line in open(alerts_path):
                line = line.strip()
                if line:
                    a = json.loads(line)
                    a["_t"] = epoch(a["time"])
                    self.alerts.append(a)
        except FileNotFoundError:
            pass
        self.phases = {p["name"]: p for p in self.manifest["phases"]}
        self.containers = self.manifest["containers"]
        self.passed = 0
        self.failed = 0

    # -- helpers ---------------------------------------------------------------------------
    def window(self, *names):
        """Alerts whose event time falls in the named phases (the audit clock has ms)."""
        out = []
        for a in self.alerts:
            for n in names:
                p = self.phases.get(n)
                if p and p["start"] - 0.002 <= a["_t"] <= p["end"] + 0.002:
                    out.append(a)
                    break
        return out

    def report(self, ok, name, lines):
        print("%s: %s" % ("PASS" if ok else "FAIL", name))
        for l in lines:
            print("      " + l)
        if ok:
            self.passed += 1
        else:
            self.failed += 1

    def container_problems(self, a, key):
        """What is wrong with the alert's container object for manifest container KEY."""
        want = self.containers[key]
        c = a.get("container")
        if not c:
            return ["no container object (expected %s %s)" % (want["runtime"], key)]
        bad = []
        if c.get("id") != want["id"]:
            bad.append("container.id %r, want %r" % (c.get("id"), want["id"]))
        if c.get("runtime") != want["runtime"]:
            bad.append("container.runtime %r, want %r" % (c.get("runtime"), want["runtime"]))
        for field in ("name", "image"):
            got = c.get(field)
            accepted = want[field] if isinstance(want[field], list) else [want[field]]
            if got is None and self.mode == "replay":
                continue
            if got not in accepted:
                bad.append("container.%s %r, want %r" % (field, got, accepted[0] if len(accepted) == 1 else accepted))
        return bad

    def phase_ran(self, name):
        p = self.phases.get(name)
        if not p:
            self.report(False, "%s: the phase did not run (not in the manifest)" % name, [])
            return False
        if p.get("error"):
            self.report(False, "%s: the scenario failed to run: %s" % (name, p["error"]), [])
            return False
        return True

    # -- the benign soak -------------------------------------------------------------------
    def soak(self):
        for name, what in [
            ("soak.ctr", "ctr run/exec/kill churn"),
            ("soak.docker", "docker run/stop/rm churn"),
            ("soak.docker_exec", "docker exec"),
            ("soak.docker_init", "docker run --init"),
            ("soak.docker_cp", "docker cp in and out"),
            ("soak.docker_build", "docker build (classic builder: RUN and COPY into /usr/bin)"),
            ("soak.buildkit", "docker build (BuildKit: RUN and COPY into /usr/bin)"),
            ("soak.podman", "podman run/stop/rm churn"),
            ("soak.podman_exec", "podman exec"),
            ("soak.import_runtime_image", "docker and podman import of an image carrying /usr/local/bin/{runc,docker,...}"),
            ("soak.escape_controls", "issue 15's controls (escape surfaces read, files of their names under /tmp, "
             "the socket mounted but unused, the host's own client)"),
        ]:
            if name not in self.phases and self.mode == "replay" and name in LIVE_ONLY:
                continue
            if name not in self.phases:
                if name == "soak.buildkit":
                    print("SKIP: %s: %s" % (name, self.manifest.get("buildkit", "BuildKit not available")))
                    continue
                self.phase_ran(name)
                continue
            if not self.phase_ran(name):
                continue
            got = self.window(name)
            loud = [a for a in got if SEV[a["rule"]["severity"]] >= SEV["medium"]]
            lines = [describe(a) for a in loud]
            ok = not loud
            if name == "soak.docker_build" and self.mode == "replay":
                # The classic builder's step containers are known by docker's state file, which a
                # replay does not read (it is this host's now, not the stream's): the stream alone
                # shows ordinary containers. Live, the same phase must be quiet.
                print("SKIP: benign soak, %s: replays cannot tell the classic builder's containers "
                      "(%d alerts >= medium, as a stream shows them)" % (what, len(loud)))
                continue
            if name in ("soak.docker_build", "soak.buildkit"):
                # Issue 10: an image build's changes are at most low, tagged image_build.
                build = [a for a in got if a["rule"]["id"] == "container_binary_modified"]
                untagged = [a for a in build if "image_build" not in a["rule"]["tags"] or SEV[a["rule"]["severity"]] > SEV["low"]]
                lines += ["not low/image_build: " + describe(a) for a in untagged if a not in loud]
                ok = ok and not untagged
            self.report(ok, "benign soak, %s: 0 alerts >= medium (%d alerts in the phase, %d >= medium)"
                        % (what, len(got), len(loud)), lines)

        name = "soak.apt_reinstall"
        if self.phase_ran(name):
            got = self.window(name)
            above = [a for a in got if a["rule"]["severity"] != "info" or "authorized_update" not in a["rule"]["tags"]]
            runc = self.manifest["runc"]
            tampered = [a for a in got if a["rule"]["id"] == "runtime_binary_tampered" and (a.get("file") or {}).get("path") == runc]
            lines = [describe(a) for a in above]
            if not tampered:
                lines.append("no runtime_binary_tampered (info, authorized_update) naming %s: the update was not seen" % runc)
            self.report(not above and bool(tampered),
                        "benign soak, apt-get install --reinstall runc: only info alerts tagged authorized_update "
                        "(%d alerts, %d on %s)" % (len(got), len(tampered), runc), lines)

        # runc init (the memfd self-clone runc runs at every start and exec) is the runtime.
        inits = [a for a in self.alerts if a["rule"]["id"] == "runtime_binary_unrecognized" and is_runc_init(a)]
        self.report(not inits, "runtime_binary_unrecognized never fires for `runc init` (%d alerts in the whole run)" % len(inits),
                    [describe(a) for a in inits[:5]] + (["... and %d more" % (len(inits) - 5)] if len(inits) > 5 else []))

    # -- the detections --------------------------------------------------------------------
    def fim(self, phase, key, how):
        if not self.phase_ran(phase):
            return
        got = self.window(phase)
        hits = [a for a in got if a["rule"]["id"] == "container_binary_modified"]
        ours = [a for a in hits if (a.get("container") or {}).get("id") == self.containers[key]["id"]]
        ops = [a["file"]["operation"] for a in ours if (a.get("file") or {}).get("path", "").startswith("/usr/bin/tool")]
        lines = ["operations seen: %s (want each of %s once)" % (ops, FIM_OPS)]
        problems = []
        for a in hits:
            for p in self.container_problems(a, key):
                problems.append("%s: %s" % (a["file"]["operation"] if a.get("file") else "?", p))
            path = (a.get("file") or {}).get("path", "")
            if not path.startswith("/usr/bin/tool"):
                problems.append("unexpected path %s (%s)" % (path, a["file"]["operation"]))
        ok = sorted(ops) == sorted(FIM_OPS) and not problems
        lines += sorted(set(problems))
        missing = [o for o in FIM_OPS if o not in ops]
        if missing:
            lines.append("MISSED: %s" % missing)
        c = self.containers[key]
        self.report(ok, "container_binary_modified: the 7 operations on /usr/bin/tool %s (%s %s, id %s...)"
                    % (how, c["runtime"], key, c["id"][:12]), lines)

    def initiator(self, phase, key, cli, verb, token=None, login=False):
        """Issue 15: the alerts of a process a client asked a daemon for name that client command
        (`CLI VERB ... KEY`: the exec'd process, or a started container's own command and what
        it runs; TOKEN instead of KEY: a run without --name, by its image). Live the container's
        name is known; a replay knows no docker name, and a name it cannot check is no proof:
        then none, never a wrong one (another CLI, another verb)."""
        if not self.phase_ran(phase):
            return
        ours = [a for a in self.window(phase) if a["rule"]["id"] == "container_binary_modified"
                and (a.get("container") or {}).get("id") == self.containers[key]["id"]]
        got = [a.get("initiator") for a in ours]
        problems = []
        for i in got:
            if i is None:
                if self.mode == "live":
                    problems.append("no initiator")
                continue
            argv = i.get("argv") or []
            if i.get("ambiguous") or os.path.basename(i.get("exe") or "") != cli or verb not in argv \
                    or (token or key) not in argv or (token and "--name" in argv):
                problems.append("not the %s %s: %s" % (cli, verb, i))
            elif i.get("auid") is None or not isinstance(i.get("pid"), int):
                problems.append("no auid or pid: %s" % i)
            elif login and self.mode == "live" and (i["auid"] != 0 or i.get("user") != "root"):
                problems.append("the CLI ran with login uid 0: want auid 0, user root: %s" % i)
            elif i["auid"] == 4294967295 and i.get("user") is not None:
                problems.append("a user for an unset auid: %s" % i)
            elif self.mode == "live" and i["auid"] != 4294967295 and i.get("user") != pwd.getpwuid(i["auid"]).pw_name:
                problems.append("user %r, want %r (auditd's translation of auid %d)"
                                % (i.get("user"), pwd.getpwuid(i["auid"]).pw_name, i["auid"]))
        self.report(bool(ours) and not problems, "initiator of %s's alerts: `%s %s%s`%s"
                    % (key, cli, verb, " " + token if token else "", ", no --name" if token else ""),
                    ["%d alerts, initiators %s" % (len(ours), sorted(set(str((i or {}).get("pid")) for i in got)))]
                    + sorted(set(problems)))

    def detections(self):
        self.fim("det.docker_fim_exec", "fim-d", "by `docker exec`")
        self.fim("det.docker_fim_cmd", "fim-d2", "by the docker container's own command")
        self.fim("det.podman_fim_exec", "fim-p", "by `podman exec`")
        self.fim("det.podman_fim_cmd", "fim-p2", "by the podman container's own command")
        # The exec'd process carries the exec's initiator, not the run that started the container.
        self.initiator("det.docker_fim_exec", "fim-d", "docker", "exec", login=True)
        self.initiator("det.podman_fim_exec", "fim-p", "podman", "exec")
        # A container's own command: the `start -a` that started it.
        self.initiator("det.docker_fim_cmd", "fim-d2", "docker", "start")
        self.initiator("det.podman_fim_cmd", "fim-p2", "podman", "start")
        for ph, key, cli in (("det.docker_run_initiator", "run-d", "docker"), ("det.podman_run_initiator", "run-p", "podman")):
            if self.mode == "replay" and ph not in self.phases:
                continue  # added after the replay's capture: live only
            self.initiator(ph, key, cli, "run")
        if self.mode == "live" or "run-d-image" in self.containers:
            self.initiator("det.docker_run_initiator", "run-d-image", "docker", "run", token="adock-bb:1")

        ph = "det.docker_placeholder_name"
        if (self.mode == "live" or ph in self.phases) and self.phase_ran(ph):
            # A file named like the placeholders: the summary shows the name as it is and
            # fills only the template's own places (live: the container's name and image).
            path = "/usr/bin/{container.name}{integrity.trust}"
            hits = [a for a in self.window(ph) if a["rule"]["id"] == "container_binary_modified"
                    and (a.get("file") or {}).get("path") == path]
            problems = [] if hits else ["MISSED: no container_binary_modified alert on %s" % path]
            for a in hits:
                problems += self.container_problems(a, "hostile-d")
                if "of %s by " % path not in a["summary"]:
                    problems.append("the file's name is not shown as it is: %r" % a["summary"])
                if self.mode == "live" and "(hostile-d, image adock-bb:1)" not in a["summary"]:
                    problems.append("the container's names are not in the summary: %r" % a["summary"])
            self.report(not problems, "a file named like the summary's placeholders is shown as it is",
                        ["%d alerts" % len(hits)] + sorted(set(problems)))

        for ph, key in (("det.docker_evade", "evade-d"), ("det.podman_evade", "evade-p")):
            # Added after the replay's capture: live only.
            if self.mode == "replay" and ph not in self.phases:
                continue
            if not self.phase_ran(ph):
                continue
            hits = [a for a in self.window(ph) if a["rule"]["id"] == "container_binary_modified"]
            got = [(a["file"]["operation"], a["file"]["path"], a["file"].get("same_as")) for a in hits]
            want = [("chmod", "/tmp/u/tool", "/usr/bin/tool"), ("create", "/tmp/u/dropped", "/usr/bin/dropped"),
                    ("link", "/usr/bin/tool", None), ("write", "/tmp/p", "/usr/bin/tool")]
            if self.mode == "replay":
                # The symlinked directory is known from the container's root, read live; a replay
                # has only what the stream shows: the hard link's source and the write through it.
                want = want[2:]
            problems = ["MISSED: %s" % (w,) for w in want if w not in got]
            for a in hits:
                problems += self.container_problems(a, key)
            self.report(not problems, "container_binary_modified through other names in %s (overlay root: a symlinked "
                        "directory, a hard link)" % key, [str(got)] + sorted(set(problems)))

        ph = "det.docker_tamper"
        if self.phase_ran(ph):
            got = self.window(ph)
            hits = [a for a in got if a["rule"]["id"] == "runtime_binary_tampered"]
            # An unknown attribution (a replay of the test's own shells, whose parents predate
            # the capture) is a container object without an id: not the container.
            esc = [a for a in hits if (a.get("container") or {}).get("id")]
            host = [a for a in hits if not (a.get("container") or {}).get("id")]
            lines = ["from the container: %s" % [(a["rule"]["severity"], a["file"]["path"], a["file"]["operation"], a["rule"]["tags"]) for a in esc],
                     "from the host (the restore): %s" % [(a["rule"]["severity"], a["process"]["exe"], a["file"]["path"]) for a in host]]
            problems = []
            if not esc:
                problems.append("MISSED: no runtime_binary_tampered from the container")
            for a in esc:
                if a["rule"]["severity"] != "critical":
                    problems.append("severity %s, want critical" % a["rule"]["severity"])
                if "container_escape" not in a["rule"]["tags"]:
                    problems.append("no container_escape tag: %s" % a["rule"]["tags"])
                if a["file"]["operation"] != "write":
                    problems.append("operation %s, want write" % a["file"]["operation"])
                problems += self.container_problems(a, "tamper-d")
            lines += sorted(set(problems))
            self.report(not problems, "runtime_binary_tampered: a docker container appends to the host's runc "
                        "through -v /usr/sbin:/hostsbin (critical, container_escape, the container named)", lines)

        ph = "det.docker_seccomp"
        if self.phase_ran(ph):
            hits = [a for a in self.window(ph) if a["rule"]["id"] == "seccomp_violation"]
            problems = []
            if len(hits) != 1:
                problems.append("%d seccomp_violation alerts, want 1" % len(hits))
            for a in hits:
                if a.get("seccomp") != {"syscall": "mkdir", "action": "kill_process"}:
                    problems.append("seccomp %s, want mkdir kill_process" % a.get("seccomp"))
                problems += self.container_problems(a, "sc-d")
            self.report(not problems, "seccomp_violation: docker --security-opt seccomp=PROFILE killing mkdir, the container named",
                        [str([(a.get("seccomp"), a.get("count")) for a in hits])] + problems)

        ph = "det.docker_sensitive"
        if self.phase_ran(ph):
            hits = [a for a in self.window(ph) if a["rule"]["id"] == "container_sensitive_syscall"]
            calls = sorted({a["event"].get("syscall") for a in hits})
            problems = []
            for want in ("unshare", "mount"):
                if want not in calls:
                    problems.append("MISSED: %s" % want)
            for a in hits:
                problems += self.container_problems(a, "sens-d")
            self.report(not problems, "container_sensitive_syscall: unshare and mount from a capable docker container "
                        "(--cap-add ALL --cap-drop SYS_RESOURCE), the container named",
                        ["syscalls: %s" % [(a["event"].get("syscall"), a["event"].get("success")) for a in hits]] + sorted(set(problems)))

        ph = "det.runc_shell"
        if self.phase_ran(ph):
            hits = [a for a in self.window(ph) if a["rule"]["id"] == "runc_suspicious_exec"]
            argvs = [a["process"].get("argv") or [] for a in hits]
            has_list = any("list" in v for v in argvs)
            has_exec = any("exec" in v for v in argvs)
            problems = []
            if not has_list:
                problems.append("MISSED: runc --root ... list")
            if not has_exec:
                problems.append("MISSED: runc --root ... exec")
            for a in hits:
                if a["rule"]["severity"] != "critical":
                    problems.append("severity %s, want critical" % a["rule"]["severity"])
            self.report(not problems, "runc_suspicious_exec: `runc --root <docker's runc root> list` and `... exec ID` from a shell",
                        ["argv: %s" % [v[:5] for v in argvs]] + problems)

        ph = "det.daemon_json"
        if self.phase_ran(ph):
            hits = [a for a in self.window(ph) if a["rule"]["id"] == "runtime_config_changed"]
            problems = []
            if not any((a.get("file") or {}).get("path") == "/etc/docker/daemon.json" for a in hits):
                problems.append("MISSED: no runtime_config_changed naming /etc/docker/daemon.json")
            for a in hits:
                if a["rule"]["severity"] != "medium":
                    problems.append("severity %s, want medium" % a["rule"]["severity"])
            self.report(not problems, "runtime_config_changed: /etc/docker/daemon.json rewritten from a shell",
                        [str([(a["file"]["path"], a["file"]["operation"], a["rule"]["severity"]) for a in hits])] + problems)

        self.escapes()

        # Nothing else loud during the detections: each alert >= medium must be one the phase expects.
        expected = {
            "det.docker_fim_exec": {"container_binary_modified"},
            "det.docker_fim_cmd": {"container_binary_modified"},
            "det.podman_fim_exec": {"container_binary_modified"},
            "det.podman_fim_cmd": {"container_binary_modified"},
            "det.docker_run_initiator": {"container_binary_modified"},
            "det.podman_run_initiator": {"container_binary_modified"},
            "det.docker_evade": {"container_binary_modified"},
            "det.podman_evade": {"container_binary_modified"},
            "det.docker_tamper": {"runtime_binary_tampered"},
            "det.docker_seccomp": {"seccomp_violation"},
            "det.docker_sensitive": {"container_sensitive_syscall"},
            "det.runc_shell": {"runc_suspicious_exec"},
            "det.daemon_json": {"runtime_config_changed"},
            # Issue 15. The capable containers' mount, unshare and setns are sensitive syscalls too.
            "det.docker_escape": {"container_escape_write", "runtime_socket_from_container", "fileless_exec",
                                  "container_sensitive_syscall"},
            "det.podman_escape": {"container_escape_write", "runtime_socket_from_container", "fileless_exec",
                                  "container_sensitive_syscall"},
            "det.docker_request": {"container_host_mount", "runc_leaked_fd_cwd", "container_sensitive_syscall"},
            "det.podman_request": {"container_host_mount", "runc_leaked_fd_cwd"},
            # busybox copied and run is a package program's copy too.
            "det.docker_drift": {"container_drift_exec", "binary_masquerade"},
            "det.podman_drift": {"container_drift_exec", "binary_masquerade"},
            "det.docker_nsjoin": {"container_host_namespace_join", "container_sensitive_syscall"},
            "det.podman_nsjoin": {"container_host_namespace_join", "container_sensitive_syscall"},
            "det.host_fileless": {"fileless_exec"},
            # The container's copy of busybox run as /tmp/sleep is drift too.
            "det.masquerade": {"binary_masquerade", "container_drift_exec"},
        }
        extra = []
        for ph, rules in expected.items():
            for a in self.window(ph):
                if SEV[a["rule"]["severity"]] >= SEV["medium"] and a["rule"]["id"] not in rules:
                    # While the container's append to the host's runc is not yet undone, a runc
                    # run by the shim (state, delete) is a runtime whose content nothing trusts:
                    # a true detection. (A runc init recognised as runc is not.)
                    if ph == "det.docker_tamper" and a["rule"]["id"] == "runtime_binary_unrecognized" \
                            and (a.get("integrity") or {}).get("trusted") is False:
                        continue
                    extra.append("%s: %s" % (ph, describe(a)))
        self.report(not extra, "detections: no other alert >= medium while they ran (%d)" % len(extra),
                    extra[:12] + (["... and %d more" % (len(extra) - 12)] if len(extra) > 12 else []))

    def escapes(self):
        """Issue 15: the escape techniques from docker and podman containers, and a fileless
        exec on the host. Added after the replay's capture: live only when the capture lacks them."""
        def present(ph):
            if self.mode == "replay" and ph not in self.phases:
                return False
            return self.phase_ran(ph)

        for ph, key in (("det.docker_escape", "esc-d"), ("det.podman_escape", "esc-p")):
            if not present(ph):
                continue
            got = self.window(ph)
            writes = [a for a in got if a["rule"]["id"] == "container_escape_write"]
            paths = sorted({(a.get("file") or {}).get("path") for a in writes})
            problems = []
            for want in ("/proc/sys/kernel/core_pattern", "/proc/sysrq-trigger", "/sys/kernel/uevent_helper"):
                if want not in paths:
                    problems.append("MISSED: container_escape_write on %s" % want)
            out = open(self.manifest["workdir"] + "/phase-%s.out" % ph).read() if self.mode == "live" else ""
            if self.mode == "live" and "openw /tmp/cg/release_agent" in out and "/tmp/cg/release_agent" not in paths:
                problems.append("MISSED: container_escape_write on /tmp/cg/release_agent (the open ran: %s)"
                                % [l for l in out.splitlines() if "release_agent" in l])
            socks = [a for a in got if a["rule"]["id"] == "runtime_socket_from_container"]
            if not any((a.get("file") or {}).get("path") == "/var/run/docker.sock" for a in socks):
                problems.append("MISSED: runtime_socket_from_container naming /var/run/docker.sock (%s)"
                                % [(a.get("file") or {}).get("path") for a in socks])
            fl = [a for a in got if a["rule"]["id"] == "fileless_exec"]
            if not any("memfd:adock-payload" in (a["process"].get("exe") or "") for a in fl):
                problems.append("MISSED: fileless_exec of the memfd (%s)" % [a["process"].get("exe") for a in fl])
            for a in writes + fl:
                if a["rule"]["severity"] != "critical":
                    problems.append("%s severity %s, want critical" % (a["rule"]["id"], a["rule"]["severity"]))
            for a in socks:
                if a["rule"]["severity"] != "high":
                    problems.append("runtime_socket_from_container severity %s, want high" % a["rule"]["severity"])
            for a in writes + socks + fl:
                problems += ["%s: %s" % (a["rule"]["id"], p) for p in self.container_problems(a, key)]
            c = self.containers[key]
            self.report(not problems, "escape techniques from the %s container %s: container_escape_write (core_pattern, "
                        "sysrq-trigger, uevent_helper, release_agent), runtime_socket_from_container, fileless_exec"
                        % (c["runtime"], key),
                        ["writes: %s" % [(p, ) for p in paths],
                         "results: %s" % sorted({(a["file"]["path"], a["event"].get("success")) for a in writes}),
                         "sockets: %s" % [(a["file"]["path"], a["rule"]["severity"]) for a in socks],
                         "fileless: %s" % [(a["process"]["exe"], a["rule"]["severity"]) for a in fl]]
                        + sorted(set(problems)))

        for ph, key in (("det.docker_nsjoin", "ns-d"), ("det.podman_nsjoin", "ns-p")):
            if not present(ph):
                continue
            hits = [a for a in self.window(ph) if a["rule"]["id"] == "container_host_namespace_join"]
            problems = []
            if self.mode == "live":
                out = open(self.manifest["workdir"] + "/phase-%s.out" % ph).read()
                if "joined" not in out:
                    problems.append("the probe did not join: %s" % out.strip()[-200:])
                if not hits:
                    problems.append("MISSED: no container_host_namespace_join")
            for a in hits:
                if a["rule"]["severity"] != "critical":
                    problems.append("severity %s, want critical" % a["rule"]["severity"])
                if "mnt" not in a.get("summary", ""):
                    problems.append("the summary does not name the mnt namespace: %s" % a.get("summary"))
                problems += self.container_problems(a, key)
            self.report(not problems, "container_host_namespace_join: setns into a host process's mount namespace from "
                        "a --pid=host %s container" % self.containers[key]["runtime"],
                        [str([(a["rule"]["severity"], a.get("summary")) for a in hits])] + sorted(set(problems)))

        ph = "det.host_fileless"
        if present(ph):
            hits = [a for a in self.window(ph) if a["rule"]["id"] == "fileless_exec"]
            problems = []
            if not any("memfd:adock-payload" in (a["process"].get("exe") or "") for a in hits):
                problems.append("MISSED: fileless_exec of the memfd on the host")
            for a in hits:
                if a["rule"]["severity"] != "high":
                    problems.append("severity %s, want high (on the host)" % a["rule"]["severity"])
                if (a.get("container") or {}).get("id"):
                    problems.append("attributed to a container: %s" % a["container"])
            self.report(not problems, "fileless_exec: a memfd exec on the host (high)",
                        [str([(a["process"].get("exe"), a["rule"]["severity"]) for a in hits])] + problems)

    def requests(self):
        """Issue 15: container_host_mount and runc_leaked_fd_cwd, from the clients' command lines
        (stream facts: live and replay) and, live, from the started containers' specs (which
        also see Docker's API used without a CLI)."""
        cli = {"det.docker_request": "/usr/bin/docker", "det.podman_request": "/usr/bin/podman"}
        for ph, spec_keys in (("det.docker_request", [("mnt-d", "container_host_mount", "bind mount of / at /hostroot"),
                                                       ("mnt-d", "container_host_mount", "chroot into the host's root directory, mounted at /hostroot"),
                                                       ("leak-d", "runc_leaked_fd_cwd", "working directory /proc/self/fd/7"),
                                                       ("api-d", "container_host_mount", "bind mount of /run at /hostrun"),
                                                       ("blk-d", "container_host_mount", "mount of the block device /tmp/hostdisk")]),
                              ("det.podman_request", [("mnt-p", "container_host_mount", "bind mount of / at /hostroot"),
                                                       ("mnt-p", "container_host_mount", "chroot into the host's root directory, mounted at /hostroot"),
                                                       ("leak-p", "runc_leaked_fd_cwd", "working directory /proc/self/fd/7")])):
            if (self.mode == "replay" and ph not in self.phases) or not self.phase_ran(ph):
                continue
            got = [a for a in self.window(ph) if a["rule"]["id"] in ("container_host_mount", "runc_leaked_fd_cwd")]
            want_sev = {"container_host_mount": "high", "runc_leaked_fd_cwd": "critical"}
            problems = []
            for rule, what in (("container_host_mount", "bind mount of / at /hostroot"),
                               ("runc_leaked_fd_cwd", "working directory /proc/self/fd/7 (-w)")):
                if not any(a["rule"]["id"] == rule and a["process"].get("exe") == cli[ph] and what in a.get("summary", "")
                           for a in got):
                    problems.append("MISSED: %s from %s's command line (%s)" % (rule, cli[ph], what))
            # Added after the replay's capture: live only.
            if ph == "det.docker_request" and self.mode == "live":
                execs = [a for a in got if a["rule"]["id"] == "runc_leaked_fd_cwd" and a["process"].get("exe") == cli[ph]
                         and "exec" in (a["process"].get("argv") or []) and "leakx-d" in (a["process"].get("argv") or [])]
                if "leakx-d" not in self.containers or not execs:
                    problems.append("MISSED: runc_leaked_fd_cwd from `docker exec -w /proc/self/fd/7 leakx-d`")
            if self.mode == "live":
                for key, rule, what in spec_keys:
                    mine = [a for a in got if a["rule"]["id"] == rule and (a.get("container") or {}).get("id") == self.containers[key]["id"]]
                    if not any(what in a.get("summary", "") for a in mine):
                        problems.append("MISSED: %s from the spec of %s (%s)" % (rule, key, what))
                    firsts = [a for a in mine if what in a.get("summary", "") and not a.get("count")]
                    if len(firsts) > 1:
                        problems.append("%s of %s (%s) paged %d times: runc init's exec and re-exec are one act"
                                        % (rule, key, what, len(firsts)))
                    for a in mine:
                        problems += ["%s: %s" % (rule, p) for p in self.container_problems(a, key)]
            for a in got:
                if a["rule"]["severity"] != want_sev[a["rule"]["id"]]:
                    problems.append("%s severity %s, want %s" % (a["rule"]["id"], a["rule"]["severity"], want_sev[a["rule"]["id"]]))
            self.report(not problems, "%s: container_host_mount (-v /:/hostroot, chroot into it%s) and runc_leaked_fd_cwd (-w /proc/self/fd/7) "
                        "from the client's command line%s" % (ph, ", and /run through the API" if ph == "det.docker_request" else "",
                                                               " and the containers' specs" if self.mode == "live" else ""),
                        [str([(a["rule"]["id"], a["process"].get("exe"), ((a.get("container") or {}).get("name")), a.get("summary", "")[:90])
                              for a in got])] + sorted(set(problems)))

    def drift(self):
        """Issue 15: container_drift_exec, from the stream (live and replay)."""
        for ph, key in (("det.docker_drift", "drift-d"), ("det.podman_drift", "drift-p")):
            if (self.mode == "replay" and ph not in self.phases) or not self.phase_ran(ph):
                continue
            hits = [a for a in self.window(ph) if a["rule"]["id"] == "container_drift_exec"]
            problems = []
            mine = [a for a in hits if a["process"].get("exe") == "/tmp/true"]
            if not any("written in the container as /tmp/x" in a.get("summary", "") for a in mine):
                problems.append("MISSED: container_drift_exec of /tmp/true (written as /tmp/x)")
            for a in hits:
                if a["process"].get("exe") != "/tmp/true":
                    problems.append("an image program taken for drift: %s" % describe(a))
                if a["rule"]["severity"] != "high":
                    problems.append("severity %s, want high" % a["rule"]["severity"])
                problems += self.container_problems(a, key)
            self.report(not problems, "container_drift_exec: busybox copied, chmod'ed, renamed and run in the %s container "
                        "%s (the image's sh, cp, chmod, mv, ls quiet)" % (self.containers[key]["runtime"], key),
                        [str([(a["process"].get("exe"), a["rule"]["severity"], a.get("summary", "")[:100]) for a in hits])]
                        + sorted(set(problems)))

    def image_diffs(self):
        """Issue 15: container_binary_modified and container_drift_exec carry the file as the
        container's image has it and as it is now (live only: read from the host's overlay)."""
        if self.mode == "replay":
            return
        tool_image = hashlib.sha256(b"#!/bin/sh\necho tool\n").hexdigest()
        for ph, key in (("det.docker_fim_exec", "fim-d"), ("det.podman_fim_exec", "fim-p")):
            if not self.phase_ran(ph):
                continue
            ours = [a for a in self.window(ph) if a["rule"]["id"] == "container_binary_modified"
                    and (a.get("container") or {}).get("id") == self.containers[key]["id"]]
            problems = []
            got = []
            for a in ours:
                d = a.get("image_diff")
                op, path = a["file"]["operation"], a["file"]["path"]
                got.append((op, path, (d or {}).get("verdict")))
                if not d:
                    problems.append("%s %s: no image_diff" % (op, path))
                    continue
                v = d.get("verdict")
                if path == "/usr/bin/tool" and op == "write":
                    # The append is the last change of the tool's content: read after it.
                    if v != "modified" or (d.get("image") or {}).get("sha256") != tool_image \
                            or not (d.get("now") or {}).get("sha256") or d["now"]["sha256"] == tool_image:
                        problems.append("the append to /usr/bin/tool: want modified against the image's %s..., got %s"
                                        % (tool_image[:12], d))
                elif path == "/usr/bin/tool":
                    if v not in ("attributes", "modified") or (d.get("image") or {}).get("sha256") != tool_image:
                        problems.append("%s of /usr/bin/tool: want attributes or modified against the image's, got %s" % (op, d))
                elif v not in ("added", "absent"):
                    problems.append("%s of %s (not in the image): want added or absent, got %s" % (op, path, d))
            self.report(bool(ours) and not problems, "image_diff on container_binary_modified in %s (%s): the image's "
                        "/usr/bin/tool against now" % (key, self.containers[key]["runtime"]), [str(got)] + problems)
        busybox = hashlib.sha256(open(shutil.which("busybox"), "rb").read()).hexdigest()
        for ph, key in (("det.docker_drift", "drift-d"), ("det.podman_drift", "drift-p")):
            if not self.phase_ran(ph):
                continue
            mine = [a for a in self.window(ph) if a["rule"]["id"] == "container_drift_exec"
                    and a["process"].get("exe") == "/tmp/true"]
            problems = []
            for a in mine:
                d = a.get("image_diff") or {}
                if d.get("verdict") != "added" or d.get("image") is not None \
                        or (d.get("now") or {}).get("sha256") != busybox or d.get("path") != "/tmp/true":
                    problems.append("want /tmp/true added (not in the image, busybox's content now), got %s" % d)
                if "against its image: added" not in a.get("summary", ""):
                    problems.append("the summary does not say it: %s" % a.get("summary"))
            self.report(bool(mine) and not problems, "image_diff on container_drift_exec in %s (%s): /tmp/true is not "
                        "the image's, and is busybox" % (key, self.containers.get(key, {}).get("runtime")),
                        problems or [str([a.get("image_diff") for a in mine])])

    def masquerade(self):
        """Issue 15: binary_masquerade, live only (the content is read from the host)."""
        ph = "det.masquerade"
        if self.mode == "replay" or not self.phase_ran(ph):
            return
        hits = [a for a in self.window(ph) if a["rule"]["id"] == "binary_masquerade"]
        got = [(a["process"].get("exe"), a["rule"]["severity"], (a.get("integrity") or {}).get("recognized_as"),
                bool((a.get("container") or {}).get("id"))) for a in hits]
        problems = []
        host = [a for a in hits if a["process"].get("exe", "").endswith("/crond") and not (a.get("container") or {}).get("id")]
        cont = [a for a in hits if a["process"].get("exe") == "/tmp/sleep" and (a.get("container") or {}).get("id")]
        if not host:
            problems.append("MISSED: the host's copy of /usr/bin/true")
        for a in host:
            if a["rule"]["severity"] != "medium" or (a.get("integrity") or {}).get("recognized_as") not in ("/usr/bin/true", "/bin/true"):
                problems.append("host copy: %s" % describe(a))
        if not cont:
            problems.append("MISSED: the container's copy of busybox")
        for a in cont:
            if a["rule"]["severity"] != "high" or not (a.get("integrity") or {}).get("recognized_as", "").endswith("busybox"):
                problems.append("container copy: %s" % describe(a))
            problems += self.container_problems(a, "masq-d")
        self.report(not problems, "binary_masquerade: /usr/bin/true copied to crond on the host (medium), busybox to "
                    "/tmp/sleep in a docker container (high), recognised by dpkg's md5", [str(got)] + problems)

    def naming(self):
        """Live: every Docker or podman container an alert names (any rule, any severity, soak
        included) has its name and image, and the name is not the id. BuildKit's build
        containers have neither; a replay may lack both."""
        if self.mode != "live":
            return
        unnamed = {}
        total = 0
        for a in self.alerts:
            c = a.get("container") or {}
            if not c or c.get("runtime") == "buildkit":
                continue
            docker_like = c.get("runtime") in ("docker", "podman") or c.get("namespace") == "moby" \
                or (len(c.get("id") or "") == 64 and c.get("runtime") != "containerd")
            if not docker_like:
                continue
            total += 1
            if not c.get("name") or c.get("name") == c.get("id") or not c.get("image"):
                unnamed.setdefault(c["id"], (c.get("runtime"), c.get("name"), c.get("image"), []))[3].append(a["rule"]["id"])
        lines = ["%s... runtime=%s name=%s image=%s in %d alerts (%s)" % (i[:12], r, n if n != i else "<the id>", im, len(ids), sorted(set(ids)))
                 for i, (r, n, im, ids) in unnamed.items()]
        self.report(not unnamed, "every docker/podman container in an alert is named, with its image "
                    "(%d alerts name one, %d containers unnamed)" % (total, len(unnamed)), lines)


# Phases added after the replay's capture (tests/data/containers.json): a replay without them skips them.
LIVE_ONLY = {"soak.escape_controls"}


def is_runc_init(a):
    p = a.get("process") or {}
    argv = p.get("argv") or []
    exe = p.get("exe") or ""
    return (len(argv) >= 2 and argv[1] == "init" and (argv[0].endswith("runc") or exe in ("/", "") or "memfd:runc" in exe)) \
        or "memfd:runc_cloned" in exe


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("live", "replay"):
        print(__doc__)
        sys.exit(2)
    c = Checks(sys.argv[1], sys.argv[2], sys.argv[3])
    print("checks (%s): %d alerts, %d phases" % (c.mode, len(c.alerts), len(c.phases)))
    c.soak()
    c.detections()
    c.masquerade()
    c.requests()
    c.drift()
    c.image_diffs()
    c.naming()
    print("checks (%s): %d passed, %d failed" % (c.mode, c.passed, c.failed))
    sys.exit(1 if c.failed else 0)


if __name__ == "__main__":
    main()
