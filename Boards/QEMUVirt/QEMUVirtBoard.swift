// QEMU virt: the kernel build's board; its data lives in Core (KnownBoards) so the host CLI shares it.
import BulkheadCore

let currentBoard = KnownBoards.qemuVirt
