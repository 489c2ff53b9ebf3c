// ESWIN EIC7700X, e.g. the HiFive Premier P550 (`make BOARD=eswin-eic7700x`): data in Core (KnownBoards); the device tree says the rest.
import BulkheadCore

let currentBoard = KnownBoards.eswinEIC7700X
