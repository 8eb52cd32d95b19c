import DockerEngine
import FoundationEssentials
import Glibc
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// The shell script an exec kill runs in the node (see ``ExecSupervisor``).

extension ExecSupervisor {
    /// `sh -c SCRIPT sh find MARKER`: prints the pid of each exec top process (parent pid 0 in the node)
    /// whose environment holds the marker, or kills its tree at once when running as root (then prints
    /// nothing). `sh -c SCRIPT sh tree PID…`: kills each PID's descendants, round after round until
    /// none is left (orphans come back to the subreaper PID), then PID itself. `list MARKER` prints
    /// the top processes as `find` does without killing; `signal N PID…` sends signal N once to
    /// every descendant of each PID.
    static let killScript = #"""
        b=/.openlattice/bin/busybox
        desc() {
          r=$1; m=
          for d in /proc/[0-9]*; do
            read -r l < $d/stat 2>/dev/null || continue
            set -- ${l##*) }
            [ "$1" = Z ] && continue
            m="$m ${d#/proc/}:$2"
          done
          s=" $r "; c=1
          while [ $c = 1 ]; do
            c=0
            for e in $m; do
              case "$s" in *" ${e#*:} "*) case "$s" in *" ${e%:*} "*) ;; *) s="$s${e%:*} "; c=1;; esac;; esac
            done
          done
          s=${s# $r }
        }
        tree() {
          t=$1; i=0
          while [ $i -lt 40 ]; do
            desc $t
            [ -z "$s" ] && break
            kill -9 $s 2>/dev/null; i=$((i+1))
          done
          kill -9 $t 2>/dev/null
        }
        sig() {
          desc $2
          [ -z "$s" ] || kill -$1 $s 2>/dev/null
        }
        mode=$1; shift
        if [ "$mode" = tree ]; then for p in "$@"; do tree $p; done; exit 0; fi
        if [ "$mode" = signal ]; then n=$1; shift; for p in "$@"; do sig $n $p; done; exit 0; fi
        marker="OPENLATTICE_EXEC_ID=$1"; root=no; [ "$($b id -u)" = 0 ] && root=yes
        [ "$mode" = list ] && root=no
        for d in /proc/[0-9]*; do
          p=${d#/proc/}; [ "$p" = 1 ] && continue
          read -r l < $d/stat 2>/dev/null || continue
          set -- ${l##*) }
          [ "$2" = 0 ] || continue
          $b tr '\000' '\n' < $d/environ 2>/dev/null | $b grep -qxF "$marker" || continue
          if [ $root = yes ]; then tree $p; else echo $p; fi
        done
        exit 0
        """#
}
