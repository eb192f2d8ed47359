"""Starts and stops the real stack on 127.0.0.1: PostgreSQL, Redis, N app instances under
gunicorn (sync workers) and HAProxy in front, each on a port picked here, each stopped by
its PID at the end (also when a step fails). Debian packages that are missing are
installed with apt-get --no-install-recommends (root is needed for that).
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = 10000
# The share of keys cached at the start: a read misses only when a write deleted its key since
# the key's last read, so in the steady state a key is cached with the read share's
# probability (0.8 for 80% reads). Starting there, the cache is stationary from the first request.
CACHED_SHARE = 0.8


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, what, timeout_s=30):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout_s} s")


def postgres_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def ensure_packages():
    """Installs HAProxy, Redis and PostgreSQL when missing."""
    missing = [
        package
        for package, present in (
            ("haproxy", shutil.which("haproxy")),
            ("redis-server", shutil.which("redis-server")),
            ("postgresql", postgres_bin()),
        )
        if not present
    ]
    if not missing:
        return
    print(f"reality: installing {' '.join(missing)} with apt-get --no-install-recommends (needs root)", flush=True)
    if os.geteuid() != 0:
        raise RuntimeError(f"{' '.join(missing)} missing; install them as root: apt-get install --no-install-recommends {' '.join(missing)}")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env)


class Stack:
    """The stack for one design: `instances` app instances of `workers` sync workers each."""

    def __init__(self, workdir, venv, instances, workers, trace_dir=None, read_ms=50, write_ms=30):
        self.workdir = workdir
        self.venv = venv
        self.instances = instances
        self.workers = workers
        self.trace_dir = trace_dir
        self.read_ms = read_ms
        self.write_ms = write_ms
        self.processes = []
        self.pg_data = None
        self.pg_ctl = None

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def _spawn(self, args, log, env=None, user=None):
        out = open(os.path.join(self.workdir, log), "ab")
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True, user=user)
        self.processes.append(process)
        return process

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        self._postgres()
        self.redis_port = free_port()
        redis = self._spawn(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            "redis.log",
        )
        wait_for_port(self.redis_port, redis, "redis-server")
        self._prewarm()
        env = dict(
            os.environ,
            REDIS_PORT=str(self.redis_port),
            PG_PORT=str(self.pg_port),
            READ_MS=str(self.read_ms),
            WRITE_MS=str(self.write_ms),
            PYTHONPATH=HERE,
        )
        if self.trace_dir:
            os.makedirs(self.trace_dir, exist_ok=True)
            env["TRACE_DIR"] = self.trace_dir
        else:
            env.pop("TRACE_DIR", None)
        self.app_ports = []
        for i in range(self.instances):
            port = free_port()
            app = self._spawn(
                [
                    os.path.join(self.venv, "bin", "gunicorn"),
                    "--workers", str(self.workers),
                    "--worker-class", "sync",
                    "--bind", f"127.0.0.1:{port}",
                    "--backlog", "4096",
                    "--timeout", "120",
                    "--config", os.path.join(HERE, "gunicorn.conf.py"),
                    "app:application",
                ],
                f"app-{i}.log",
                env=env,
            )
            wait_for_port(port, app, f"app instance {i}")
            self.app_ports.append(port)
        self.port = free_port()
        servers = "\n".join(f"    server app{i} 127.0.0.1:{p}" for i, p in enumerate(self.app_ports))
        config = os.path.join(self.workdir, "haproxy.cfg")
        with open(config, "w") as f:
            f.write(
                open(os.path.join(HERE, "haproxy.cfg")).read().replace("{{PORT}}", str(self.port)).replace("{{SERVERS}}", servers)
            )
        haproxy = self._spawn(["haproxy", "-db", "-f", config], "haproxy.log")
        wait_for_port(self.port, haproxy, "haproxy")

    def _postgres(self):
        bin_dir = postgres_bin()
        self.pg_ctl = os.path.join(bin_dir, "pg_ctl")
        self.pg_port = free_port()
        user = "postgres" if os.geteuid() == 0 else None
        if user:
            # PostgreSQL refuses to run as root: its data goes in a folder of the postgres
            # user's own under /tmp, which it can reach whatever the checkout's permissions.
            self.pg_data = tempfile.mkdtemp(prefix="archsim-pg-")
            shutil.chown(self.pg_data, user, user)
        else:
            self.pg_data = os.path.join(self.workdir, "pg")
            shutil.rmtree(self.pg_data, ignore_errors=True)
            os.makedirs(self.pg_data)
        # From /tmp: the postgres user may not be allowed into the checkout.
        subprocess.run(
            [os.path.join(bin_dir, "initdb"), "-D", self.pg_data, "-A", "trust", "-U", "postgres"],
            check=True, stdout=subprocess.DEVNULL, user=user, cwd=tempfile.gettempdir(),
        )
        options = f"-c listen_addresses=127.0.0.1 -p {self.pg_port} -k {self.pg_data} -c max_connections=200 -c fsync=off"
        subprocess.run(
            [self.pg_ctl, "-D", self.pg_data, "-o", options, "-l", os.path.join(self.pg_data, "log"), "-w", "start"],
            check=True, stdout=subprocess.DEVNULL, user=user, cwd=tempfile.gettempdir(),
        )
        self.pg_started = True
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.pg_port, user="postgres", dbname="postgres", autocommit=True) as db:
            db.execute("CREATE TABLE IF NOT EXISTS items (k integer PRIMARY KEY, v text NOT NULL)")
            db.execute(
                "INSERT INTO items SELECT k, md5(k::text) FROM generate_series(0, %s) AS k ON CONFLICT DO NOTHING",
                (KEYS - 1,),
            )

    def _prewarm(self):
        import random

        import redis

        client = redis.Redis(host="127.0.0.1", port=self.redis_port)
        pipe = client.pipeline()
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.pg_port, user="postgres", dbname="postgres") as db:
            chance = random.Random(1)
            for k, v in db.execute("SELECT k, v FROM items ORDER BY k"):
                if chance.random() < CACHED_SHARE:
                    pipe.set(f"item:{k}", v.encode())
        pipe.execute()

    def stop(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes = []
        if getattr(self, "pg_started", False):
            user = "postgres" if os.geteuid() == 0 else None
            subprocess.run(
                [self.pg_ctl, "-D", self.pg_data, "-m", "fast", "-w", "stop"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, user=user, cwd=tempfile.gettempdir(),
            )
            self.pg_started = False
        if self.pg_data:
            shutil.rmtree(self.pg_data, ignore_errors=True)
            self.pg_data = None


def stop_on_sigterm():
    """Makes SIGTERM unwind like Ctrl-C, so that every process started is stopped."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


if __name__ == "__main__":
    # Starts the stack and keeps it up until Ctrl-C: python stack.py WORKDIR VENV [INSTANCES WORKERS]
    stop_on_sigterm()
    ensure_packages()
    workdir, venv = sys.argv[1], sys.argv[2]
    instances, workers = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (2, 2)
    with Stack(workdir, venv, instances, workers, trace_dir=os.path.join(workdir, "traces")) as stack:
        print(f"HAProxy on 127.0.0.1:{stack.port}; Ctrl-C stops the stack", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
