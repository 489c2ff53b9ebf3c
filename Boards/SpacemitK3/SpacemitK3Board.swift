// SpacemiT K3 (`make BOARD=spacemit-k3`): its data lives in Core (KnownBoards) so the host CLI shares it; the device tree says the rest.
import BulkheadCore

let currentBoard = KnownBoards.spacemitK3
