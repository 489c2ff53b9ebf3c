// The Bulkhead extension's calls: decoded once from the registers, then routed to the one service that performs them (IPC, key services, keystore, updates).
//
// Decode, then perform (docs/hypercalls.md): `BulkheadCall.decode` turns a6 and a0...a3 into one
// typed call and nothing else; the service it is routed to validates every argument before it
// acts, and any failure becomes an SBI error plus a BulkheadReason in a1.

/// One decoded Bulkhead call (a6 = function, a0...a2 = arguments).
public enum BulkheadCall: Equatable, Sendable {
    case partitionInfo(buffer: GuestPhysAddr, length: UInt64)
    case send(channel: UInt64, buffer: GuestPhysAddr, length: UInt64)
    case receive(channel: UInt64, buffer: GuestPhysAddr, length: UInt64)
    case notify(channel: UInt64)
    case doorbells
    /// Key services (docs/keys.md), performed by KeyService.
    case derive(label: GuestPhysAddr, length: UInt64, output: GuestPhysAddr)
    case seal(binding: UInt64, request: GuestPhysAddr)
    case unseal(request: GuestPhysAddr)
    case attest(nonce: GuestPhysAddr, output: GuestPhysAddr, length: UInt64)
    case random(output: GuestPhysAddr, length: UInt64)
    /// Keystore calls (docs/keys.md), performed by KeystoreService.
    case keyGenerate(usage: UInt64)
    case keyImport(usage: UInt64, material: GuestPhysAddr, length: UInt64)
    case keySign(handle: UInt64, message: GuestPhysAddr, length: UInt64, output: GuestPhysAddr)
    case keyMAC(handle: UInt64, message: GuestPhysAddr, length: UInt64, output: GuestPhysAddr)
    case keyPublic(handle: UInt64, output: GuestPhysAddr)
    case keyDestroy(handle: UInt64)
    /// The system report (docs/keys.md), performed by KeyService.
    case attestSystem(nonce: GuestPhysAddr, output: GuestPhysAddr, length: UInt64)
    /// Partition updates (docs/hypercalls.md), performed by UpdateService.
    case updateStage(target: UInt64, offset: UInt64, buffer: GuestPhysAddr, length: UInt64)
    case updateApply(target: UInt64, length: UInt64, deadlineMilliseconds: UInt64)
    case updateStatus(target: UInt64)
    case updateCommit
    case unknown(fid: UInt64)

    public static func decode(fid: UInt64, a0: UInt64, a1: UInt64, a2: UInt64, a3: UInt64 = 0) -> BulkheadCall {
        switch BulkheadFunction(rawValue: fid) {
        case .partitionInfo: return .partitionInfo(buffer: GuestPhysAddr(a0), length: a1)
        case .send: return .send(channel: a0, buffer: GuestPhysAddr(a1), length: a2)
        case .receive: return .receive(channel: a0, buffer: GuestPhysAddr(a1), length: a2)
        case .notify: return .notify(channel: a0)
        case .doorbells: return .doorbells
        case .derive: return .derive(label: GuestPhysAddr(a0), length: a1, output: GuestPhysAddr(a2))
        case .seal: return .seal(binding: a0, request: GuestPhysAddr(a1))
        case .unseal: return .unseal(request: GuestPhysAddr(a1))
        case .attest: return .attest(nonce: GuestPhysAddr(a0), output: GuestPhysAddr(a1), length: a2)
        case .random: return .random(output: GuestPhysAddr(a0), length: a1)
        case .keyGenerate: return .keyGenerate(usage: a0)
        case .keyImport: return .keyImport(usage: a0, material: GuestPhysAddr(a1), length: a2)
        case .keySign: return .keySign(handle: a0, message: GuestPhysAddr(a1), length: a2, output: GuestPhysAddr(a3))
        case .keyMAC: return .keyMAC(handle: a0, message: GuestPhysAddr(a1), length: a2, output: GuestPhysAddr(a3))
        case .keyPublic: return .keyPublic(handle: a0, output: GuestPhysAddr(a1))
        case .keyDestroy: return .keyDestroy(handle: a0)
        case .attestSystem: return .attestSystem(nonce: GuestPhysAddr(a0), output: GuestPhysAddr(a1), length: a2)
        case .updateStage: return .updateStage(target: a0, offset: a1, buffer: GuestPhysAddr(a2), length: a3)
        case .updateApply: return .updateApply(target: a0, length: a1, deadlineMilliseconds: a2)
        case .updateStatus: return .updateStatus(target: a0)
        case .updateCommit: return .updateCommit
        case nil: return .unknown(fid: fid)
        }
    }
}

/// Routes a decoded call to its service and turns the outcome into the SBI result.
public enum BulkheadService {
    /// Performs `call` for the caller. Never traps on guest input.
    public static func handle<E: IPCEnvironment>(_ call: BulkheadCall, _ env: inout E) -> SBIResult {
        do {
            return .success(try perform(call, &env))
        } catch {
            return error.result
        }
    }

    static func perform<E: IPCEnvironment>(_ call: BulkheadCall, _ env: inout E) throws(BulkheadReason) -> UInt64 {
        switch call {
        case .partitionInfo, .send, .receive, .notify, .doorbells:
            return try IPCService.perform(call, &env)
        case .derive, .seal, .unseal, .attest, .random, .attestSystem:
            return try KeyService.perform(call, &env)
        case .keyGenerate, .keyImport, .keySign, .keyMAC, .keyPublic, .keyDestroy:
            return try KeystoreService.perform(call, &env)
        case .updateStage, .updateApply, .updateStatus, .updateCommit:
            return try UpdateService.perform(call, &env)
        case .unknown:
            throw .unknownFunction
        }
    }
}
