#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What coopctl needs to know about where its output goes.
public enum Terminal {
    /// Columns available for a table: `$COLUMNS` when set, else the window size of stdout (or stderr) when it
    /// is a terminal, else nil (no limit: output to a pipe or file is never cut).
    public static func width(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        if let text = environment["COLUMNS"], let columns = Int(text.trimmingCharacters(in: .whitespaces)),
            columns > 0
        {
            return columns
        }
        for fd in [STDOUT_FILENO] where isatty(fd) == 1 {
            var size = winsize()
            if ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
                return Int(size.ws_col)
            }
        }
        return nil
    }

    public static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
    public static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
}

/// Output helpers: stdout through Swift's buffered `print` (flushed at exit and after each streamed line),
/// stderr unbuffered.
public enum Console {
    public static func out(_ text: String, terminator: String = "\n") {
        print(text, terminator: terminator)
    }

    public static func err(_ text: String, terminator: String = "\n") {
        FileHandle.standardError.write(Data((text + terminator).utf8))
    }

    /// Flushes every stdio stream (stdout included).
    public static func flush() {
        fflush(nil)
    }
}

extension String {
    /// Columns this string takes on a terminal: East Asian wide characters count two, combining marks and
    /// control characters none.
    public var displayWidth: Int {
        var width = 0
        for character in self { width += character.displayWidth }
        return width
    }

    /// The string cut to at most `width` columns, ending in "…" when cut.
    public func truncated(toWidth width: Int) -> String {
        if displayWidth <= width { return self }
        if width <= 0 { return "" }
        var result = ""
        var used = 0
        for character in self {
            let w = character.displayWidth
            if used + w > width - 1 { break }
            result.append(character)
            used += w
        }
        return result + "…"
    }

    /// Pads with spaces to `width` columns, on the right (left-aligned) or on the left (right-aligned).
    func padded(to width: Int, right: Bool = false) -> String {
        let pad = max(0, width - displayWidth)
        if pad == 0 { return self }
        let spaces = String(repeating: " ", count: pad)
        return right ? spaces + self : self + spaces
    }

    /// Control characters (newlines, tabs) shown as spaces, so one value stays on one table line.
    var singleLine: String {
        String(map { $0.isNewline || $0 == "\t" ? " " : $0 })
    }
}

extension Character {
    var displayWidth: Int {
        guard let scalar = unicodeScalars.first else { return 0 }
        let v = scalar.value
        if v < 0x20 || (v >= 0x7F && v < 0xA0) { return 0 }
        if scalar.properties.generalCategory == .nonspacingMark || scalar.properties.generalCategory == .enclosingMark
            || v == 0x200B
        {
            return 0
        }
        switch v {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
            0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F,
            0x1F900...0x1F9FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return 2
        default:
            return 1
        }
    }
}
