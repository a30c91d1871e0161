"""`verify` and checkpoints: the audit chain, every evidence object, the snapshot index and
every event's raw bytes re-checked, and the chain head kept somewhere else."""

from __future__ import annotations

from pathlib import Path

from thirdbook.domain.audit import ChainHead
from thirdbook.evidence.chain import read_checkpoint, write_checkpoint
from thirdbook.evidence.objects import ObjectStore
from thirdbook.evidence.verify import StoreCheck, verify_store
from thirdbook.store import Store


class VerifyService:
    """Re-checks what the store and its evidence directory hold."""

    def __init__(self, store: Store, objects: ObjectStore) -> None:
        self.store = store
        self.objects = objects

    async def store_and_evidence(self, checkpoint: ChainHead | None = None) -> StoreCheck:
        """Everything re-hashed and re-linked (see `evidence.verify`); with a checkpoint,
        a store rolled back past it is caught."""
        return await verify_store(self.store, self.objects, checkpoint)

    @staticmethod
    def read_checkpoint(path: Path) -> ChainHead:
        """A checkpoint exported earlier (`CheckpointError` when it cannot be read)."""
        return read_checkpoint(path)

    @staticmethod
    def write_checkpoint(head: ChainHead, path: Path) -> None:
        """Write the chain head to a file, to keep somewhere else."""
        write_checkpoint(head, path)
