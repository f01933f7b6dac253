"""`serve --workers N`: N forked worker processes accept on one listening socket, and this
supervisor keeps N of them running.

    start     the caller has migrated, printed the banner and bound the socket; each worker is
              forked from here and builds its own app, engine and event loop (nothing that holds
              a connection or a loop crosses the fork)
    a death   a worker that dies (SIGKILL, a crash) is replaced at once; the socket stays open
              here meanwhile, so connections wait in its backlog instead of being refused
    a worker  that exits with STARTUP_FAILURE (3: it never served) stops everything: the app
              is broken the same way for every replacement
    stop      SIGTERM or SIGINT: the supervisor closes its copy of the socket, sends SIGTERM to
              every worker (SIGTERM, not SIGINT, so a Ctrl-C that also reached them is not taken
              as a second one, which uvicorn treats as "force quit"), waits for them to finish
              gracefully, and exits 0; a worker still running after `stop_timeout` is killed
    orphaned  on Linux a worker gets SIGTERM when the supervisor dies, even by SIGKILL
              (PR_SET_PDEATHSIG), so none is left serving unsupervised

Signals are blocked in the supervisor and read with `sigtimedwait`, so no handler runs between
a fork and its bookkeeping; each worker unblocks them before it starts.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

logger = logging.getLogger("app.supervisor")

# What a worker exits with when its server never started (as uvicorn's supervisor reads it).
STARTUP_FAILURE = 3
_STOP = {signal.SIGTERM, signal.SIGINT}
_SIGNALS = {*_STOP, signal.SIGCHLD}
# How often the supervisor looks for dead workers when no SIGCHLD arrives.
_POLL_SECONDS = 1.0


class Supervisor:
    def __init__(
        self,
        *,
        workers: int,
        listener: socket.socket,
        serve: Callable[[], int],
        stop_timeout: float,
        exited: Callable[[int], None] = lambda pid: None,
    ) -> None:
        """`serve` runs in each forked worker and returns its exit status; `exited` is called
        with the pid of each worker reaped (to drop its live metrics, say)."""
        self.workers = workers
        self.listener = listener
        self.serve = serve
        self.stop_timeout = stop_timeout
        self.exited = exited
        self.pids: set[int] = set()

    def run(self) -> int:
        """Keep the workers running until SIGTERM/SIGINT; 0 after a graceful stop, 3 when a
        worker could not start."""
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            for _ in range(self.workers):
                self._spawn()
            while True:
                received = signal.sigtimedwait(_SIGNALS, _POLL_SECONDS)
                if received is not None and received.si_signo in _STOP:
                    logger.info(
                        "received %s; stopping %d workers",
                        signal.Signals(received.si_signo).name,
                        len(self.pids),
                    )
                    return self._stop(status=0)
                if self._replace_dead() == STARTUP_FAILURE:
                    logger.error("a worker failed to start; stopping")
                    return self._stop(status=STARTUP_FAILURE)
        finally:
            # A second SIGTERM or Ctrl-C that came while stopping is spent, not delivered now
            # (it would end the process with 143 or a KeyboardInterrupt after a clean stop).
            while signal.sigtimedwait(_SIGNALS, 0) is not None:
                pass
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)

    def _spawn(self) -> None:
        supervisor = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the supervisor's code
            status = 1
            try:
                # The supervisor's own handlers (serve's cleanup on SIGTERM) are not the
                # worker's: the defaults until its server installs its own.
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
                _stop_with(supervisor if sys.platform == "linux" else None)
                status = self.serve()
            except BaseException:
                logger.exception("worker %d failed", os.getpid())
            finally:
                logging.shutdown()
                os._exit(status)
        self.pids.add(pid)
        logger.info("started worker %d", pid)

    def _replace_dead(self) -> int | None:
        """Reap dead workers and start one for each; STARTUP_FAILURE when one never served."""
        for pid, status in self._reap():
            if status == STARTUP_FAILURE:
                return STARTUP_FAILURE
            logger.warning("worker %d %s; starting another", pid, _describe(status))
            self._spawn()
        return None

    def _reap(self) -> list[tuple[int, int]]:
        """Workers that have exited, each with its exit status (minus the signal that ended
        it)."""
        reaped = []
        for pid in list(self.pids):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                self.pids.discard(pid)
                self.exited(pid)
                reaped.append((pid, os.waitstatus_to_exitcode(status)))
        return reaped

    def _stop(self, *, status: int) -> int:
        # New connections are refused once every worker has closed its copy too.
        self.listener.close()
        for pid in self.pids:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while self.pids:
            for pid, code in self._reap():
                logger.info("worker %d %s", pid, _describe(code))
            left = deadline - time.monotonic()
            if left <= 0:
                for pid in self.pids:
                    logger.error(
                        "worker %d still running %gs after SIGTERM; killing it",
                        pid,
                        self.stop_timeout,
                    )
                    os.kill(pid, signal.SIGKILL)
                deadline = float("inf")
            signal.sigtimedwait({signal.SIGCHLD}, min(max(left, 0.01), _POLL_SECONDS))
        return status


# prctl(2): the signal a process gets when the thread that forked it exits.
_PR_SET_PDEATHSIG = 1


def _stop_with(parent: int | None) -> None:
    """Have this worker get SIGTERM when `parent` (the supervisor) dies; Linux only (None:
    elsewhere, nothing is done)."""
    if parent is None:
        return
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the call
        os.kill(os.getpid(), signal.SIGTERM)


def _describe(status: int) -> str:
    if status < 0:
        return f"was killed by {signal.Signals(-status).name}"
    return f"exited with status {status}"
