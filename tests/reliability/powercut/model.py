"""The power-cut file model: live and durable directory trees, and each file's unsynced bytes.

Nodes, not paths, carry identity, so a file renamed or unlinked while open keeps its durable
image and its pending extents; directory listings map names to nodes, live and durable apart.
``backing/live/`` holds the files as the mount shows them, ``backing/durable/<node>`` each
file's synced bytes and ``backing/state.json`` the durable tree, which :meth:`FileModel.recover`
turns back into ``live/`` on boot. The FUSE operations (:mod:`.operations`) drive this model.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import mfusepy  # type: ignore[import-untyped]

ROOT = 1


@dataclass
class Node:
    is_dir: bool
    dirty: list[tuple[int, int]] = field(default_factory=list)
    """Byte ranges written since the last sync (merged at sync time)."""


@dataclass
class Counters:
    writes: int = 0
    written_bytes: int = 0
    fsyncs: int = 0
    fsyncdirs: int = 0
    synced_bytes: int = 0


def merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


class FileModel:
    """What the mount shows (``live``) next to what a power cut keeps (``durable``)."""

    def __init__(self, backing: Path) -> None:
        self.live_root = backing / "live"
        self.durable_dir = backing / "durable"
        self.state_path = backing / "state.json"
        self.counters = Counters()
        self.nodes: dict[int, Node] = {}
        self.live: dict[int, dict[str, int]] = {}
        self.durable: dict[int, dict[str, int]] = {}
        self.next_id = ROOT + 1
        self.recovered: dict[str, int] = {}

    # -- boot: rebuild the live tree from the durable one ---------------------------------

    def recover(self) -> None:
        """Make ``live/`` exactly the durable image: what the machine finds after the cut."""
        self.durable_dir.mkdir(parents=True, exist_ok=True)
        kinds: dict[int, bool] = {ROOT: True}
        if self.state_path.exists():
            state = json.loads(self.state_path.read_text())
            self.next_id = state["next_id"]
            kinds = {int(k): v == "d" for k, v in state["kinds"].items()}
            self.durable = {
                int(k): {name: int(n) for name, n in v.items()} for k, v in state["tree"].items()
            }
        self.durable.setdefault(ROOT, {})
        if self.live_root.exists():
            shutil.rmtree(self.live_root)
        self.live_root.mkdir()
        self.nodes = {ROOT: Node(is_dir=True)}
        self._rebuild(ROOT, self.live_root, kinds, frozenset({ROOT}))
        reachable = set(self.nodes)
        for image in self.durable_dir.iterdir():
            if int(image.name) not in reachable:
                image.unlink()
        self.durable = {d: entries for d, entries in self.durable.items() if d in reachable}
        self.live = {d: dict(entries) for d, entries in self.durable.items()}
        files = [n for n, node in self.nodes.items() if not node.is_dir]
        self.recovered = {
            "files": len(files),
            "bytes": sum(self._image(n).stat().st_size for n in files if self._image(n).exists()),
        }
        self.save()

    def _rebuild(
        self, dir_id: int, where: Path, kinds: dict[int, bool], up: frozenset[int]
    ) -> None:
        entries = self.durable.get(dir_id, {})
        for name, linked in sorted(entries.items()):
            node_id = linked
            if node_id in up:  # a cycle left by unsynced renames of directories
                del entries[name]
                continue
            target = where / name
            if node_id in self.nodes:  # reached twice (unsynced renames): two copies now
                fresh = self.new_id()
                kinds[fresh] = kinds.get(node_id, False)
                if node_id in self.durable:
                    self.durable[fresh] = dict(self.durable[node_id])
                if self._image(node_id).exists():
                    shutil.copyfile(self._image(node_id), self._image(fresh))
                entries[name] = node_id = fresh
            if kinds.get(node_id, False):
                target.mkdir()
                self.nodes[node_id] = Node(is_dir=True)
                self.durable.setdefault(node_id, {})
                self._rebuild(node_id, target, kinds, up | {node_id})
            else:
                image = self._image(node_id)
                if image.exists():
                    shutil.copyfile(image, target)
                else:
                    target.touch()
                self.nodes[node_id] = Node(is_dir=False)

    def save(self) -> None:
        kinds = {str(n): "d" if node.is_dir else "f" for n, node in self.nodes.items()}
        state = {
            "next_id": self.next_id,
            "kinds": kinds,
            "tree": {str(d): entries for d, entries in self.durable.items()},
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.state_path)

    # -- bookkeeping ---------------------------------------------------------------------

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def _image(self, node_id: int) -> Path:
        return self.durable_dir / str(node_id)

    def real(self, path: str) -> str:
        return str(self.live_root) + path

    def split(self, path: str) -> tuple[int, str]:
        parent, _, name = path.rpartition("/")
        return self.resolve(parent or "/"), name

    def resolve(self, path: str) -> int:
        node = ROOT
        for part in path.strip("/").split("/"):
            if part:
                try:
                    node = self.live[node][part]
                except KeyError:
                    raise mfusepy.FuseOSError(errno.ENOENT) from None
        return node

    def resolve_or_none(self, path: str) -> int | None:
        try:
            return self.resolve(path)
        except OSError:
            return None

    def _durably_reachable(self) -> set[int]:
        seen = {ROOT}
        stack = [ROOT]
        while stack:
            for child in self.durable.get(stack.pop(), {}).values():
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    def link_durably(self, path: str) -> None:
        """A new file's fsync makes its name, and new parents' names, durable (ext4 does)."""
        reachable = self._durably_reachable()
        node = ROOT
        changed = False
        for part in path.strip("/").split("/"):
            child = self.live[node][part]
            if child not in reachable:
                self.durable.setdefault(node, {})[part] = child
                changed = True
            node = child
        if changed:
            self.save()

    def sync_data(self, node_id: int, fd: int) -> None:
        node = self.nodes[node_id]
        size = os.fstat(fd).st_size
        image = os.open(self._image(node_id), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            for start, end in merged(node.dirty):
                if start >= size:
                    continue
                data = os.pread(fd, min(end, size) - start, start)
                os.pwrite(image, data, start)
                self.counters.synced_bytes += len(data)
            os.ftruncate(image, size)
        finally:
            os.close(image)
        node.dirty.clear()

    def unsynced(self) -> dict[str, int]:
        """What a cut now would lose: bytes not yet synced, files whose name is not durable."""
        reachable = self._durably_reachable()
        live_files = {
            child
            for entries in self.live.values()
            for child in entries.values()
            if not self.nodes[child].is_dir
        }
        return {
            "unsynced_bytes": sum(e - s for n in self.nodes.values() for s, e in merged(n.dirty)),
            "unsynced_names": len(live_files - reachable),
        }
