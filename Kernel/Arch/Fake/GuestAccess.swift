// Fake arch: guest RAM is host memory; GuestBuffer's default copies reach it directly.
enum GuestAccessInstructions {
    static func install() {}
}
