"""Unused `import` lines in the Swift sources. Standard library only.

swiftc 6.3 has no warning for an unused import, and swift-format has no such rule, so this
script proves use by name: a file that imports module M must mention at least one name that M
provides, outside comments. The names of the package's own modules (Sources/*, Tests/TestSupport)
are read from their sources on every run: their top-level declarations, and for extensions of
types they do not declare, the members and the extended type's name. The names of every other
module are the list in NAMES below, kept by hand: when the check calls an import unused that the
compiler needs (the build fails without it), add the name the file uses to that module's list.
A module found in neither fails the check too, so a new dependency gets its list.

It cannot see every use (a name that is also declared elsewhere, or written in a string literal,
counts as a use), so it may miss an unused import; what it reports is unused unless a list here
lacks a name. Runs in well under a second, in scripts/lint.sh, with its tests
(scripts/lib/test_check_imports.py).

Usage: python3 scripts/lib/check_imports.py [repository root]. Exits 1 and lists every unused import.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SCANNED = ("Sources", "Tests", "Fuzz")
IMPORT = re.compile(
    r"^(?:@\w+\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+"
    r"(?:(?:struct|class|enum|protocol|typealias|func|var|let)\s+)?([A-Za-z_]\w*)"
)
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
MODIFIERS = (
    r"(?:(?:@\w+(?:\([^)]*\))?|package|public|internal|fileprivate|private|final|indirect|nonisolated|open"
    r"|static|mutating|override|convenience|required|lazy|weak|unowned|consuming|borrowing)\s+)*"
)
TOP_LEVEL = re.compile(
    r"^" + MODIFIERS + r"(?:struct|enum|class|actor|protocol|typealias|func|var|let|macro)\s+([A-Za-z_]\w*)"
)
EXTENSION = re.compile(r"^" + MODIFIERS + r"extension\s+([A-Za-z_][\w.]*)")
MEMBER = re.compile(
    r"^    " + MODIFIERS + r"(?:func|var|let|case|typealias|struct|enum|class)\s+([A-Za-z_]\w*)"
)
MEMBER_INIT = re.compile(r"^    " + MODIFIERS + r"(?:init|subscript)\b")

# Modules outside the package: the names a file may use from each. Kept by hand (see above).
DISPATCH = (
    "DispatchQueue DispatchSemaphore DispatchTime DispatchGroup DispatchWorkItem DispatchSource "
    "DispatchTimeInterval DispatchWallTime"
)
LIBC = (
    "exit fputs fflush stderr stdout stdin getpid getenv setenv signal usleep strerror errno malloc free "
    "write read close open kill SIGTERM SIGINT SIGKILL SIGPIPE SIG_IGN EXIT_SUCCESS EXIT_FAILURE "
    "mallopt M_ARENA_MAX pthread_self fileno isatty STDERR_FILENO STDOUT_FILENO STDIN_FILENO "
    "sockaddr sockaddr_in socket bind listen htons INADDR_LOOPBACK AF_INET SOCK_STREAM getsockname "
    "socklen_t in_addr clock_gettime timespec CLOCK_MONOTONIC sysconf nanosleep strlen memcpy"
)
NAMES: dict[str, str] = {
    "Foundation": (
        "Date URL URLComponents URLQueryItem Data JSONEncoder JSONDecoder JSONSerialization ProcessInfo "
        "FileManager FileHandle Process Pipe UUID NSLock NSCondition NSConditionLock NSRecursiveLock Thread "
        "CharacterSet trimmingCharacters components replacingOccurrences NSRegularExpression NSRange "
        "ISO8601DateFormatter DateFormatter DateComponents Calendar TimeZone Locale TimeInterval NSString "
        "NSNumber NSError NSData NSDictionary NSArray NSObject Bundle RunLoop Timer Notification "
        "NotificationCenter OperationQueue CFAbsoluteTimeGetCurrent "
        "addingPercentEncoding removingPercentEncoding contentsOfFile contentsOf atomically "
        "appendingPathComponent deletingLastPathComponent lastPathComponent pathExtension "
        "URLRequest URLSession HTTPURLResponse Scanner NumberFormatter ByteCountFormatter "
        "PropertyListSerialization PropertyListEncoder PropertyListDecoder Decimal capitalized "
        "base64EncodedString base64Encoded encoding autoreleasepool NSEC_PER_SEC "
        "dateFormat timeIntervalSince1970 timeIntervalSinceNow timeIntervalSince addingTimeInterval "
        "distantFuture distantPast temporaryDirectory currentDirectoryPath homeDirectoryForCurrentUser "
        "processIdentifier hostName physicalMemory activeProcessorCount "
        "systemUptime fileExists createDirectory removeItem contentsOfDirectory attributesOfItem "
        "moveItem copyItem createFile isExecutableFile "
        "standardError standardOutput standardInput fileDescriptor readDataToEndOfFile "
        "NSMakeRange localizedDescription hasDirectoryPath isFileURL " + DISPATCH + " " + LIBC
    ),
    "Dispatch": DISPATCH,
    "Logging": "Logger LogHandler LoggingSystem StreamLogHandler SwiftLogNoOpLogHandler MultiplexLogHandler",
    "Testing": (
        "Test Suite expect require Issue confirmation Tag Trait withKnownIssue Comment SourceLocation "
        "timeLimit"
    ),
    "Synchronization": "Mutex Atomic AtomicRepresentable AtomicLazyReference WordPair",
    "ArgumentParser": (
        "ParsableCommand AsyncParsableCommand Option Flag Argument OptionGroup ParsableArguments "
        "ValidationError ExitCode CommandConfiguration ExpressibleByArgument CleanExit ArgumentHelp"
    ),
    "Metrics": (
        "Counter Timer Gauge Recorder Meter MetricsSystem MetricsFactory FloatingPointCounter CounterHandler "
        "RecorderHandler TimerHandler MeterHandler FloatingPointCounterHandler MultiplexMetricsHandler "
        "NOOPMetricsHandler TimeUnit"
    ),
    "Crypto": (
        "SHA256 SHA384 SHA512 HMAC SymmetricKey AES ChaChaPoly HKDF Insecure Curve25519 P256 SharedSecret "
        "SymmetricKeySize Digest HashFunction CryptoKitError MessageAuthenticationCode"
    ),
    "Prometheus": "PrometheusCollectorRegistry PrometheusMetricsFactory",
    "ServiceLifecycle": (
        "Service ServiceGroup ServiceGroupConfiguration gracefulShutdown cancelWhenGracefulShutdown "
        "withGracefulShutdownHandler isShuttingDownGracefully GracefulShutdownError cancelOnGracefulShutdown "
        "ServiceGroupError"
    ),
    "UnixSignals": "UnixSignal UnixSignalsSequence",
    "NIOCore": (
        "EventLoop EventLoopFuture EventLoopGroup EventLoopPromise ByteBuffer ByteBufferAllocator Channel "
        "ChannelHandler ChannelInboundHandler ChannelOutboundHandler ChannelDuplexHandler "
        "ChannelHandlerContext NIOAny SocketAddress TimeAmount NIODeadline ChannelPipeline NIOLoopBound "
        "NIOAsyncChannel IOError"
    ),
    "NIOHTTP1": (
        "HTTPHeaders HTTPResponseHead HTTPRequestHead HTTPServerRequestPart HTTPServerResponsePart "
        "HTTPResponseStatus HTTPMethod HTTPVersion HTTPClientRequestPart HTTPClientResponsePart"
    ),
    "Hummingbird": (
        "Application Router Request Response ResponseBody RequestContext BasicRequestContext HTTPError "
        "RouterMethods ResponseGenerator ApplicationConfiguration EditedResponse RouterMiddleware "
        "ResponseEncodable ResponseCodable"
    ),
    "HTTPTypes": "HTTPRequest HTTPResponse HTTPFields HTTPField",
    "AsyncHTTPClient": "HTTPClient HTTPClientRequest HTTPClientResponse HTTPClientError",
    "PostgresNIO": (
        "PostgresClient PostgresConnection PostgresQuery PostgresError PSQLError PostgresDecodable "
        "PostgresEncodable PostgresRow PostgresRowSequence PostgresBindings PostgresDataType"
    ),
    "Yams": "compose Node YamlError Mark Yams",
}
# Modules whose every C name shares a prefix.
PREFIXES = {"CRdKafka": ("rd_kafka", "RD_KAFKA")}


def code_of(text: str) -> str:
    """The text without comments (string literals kept: interpolations are code)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif text.startswith(('#"""', '"""', '#"', '"'), i):
            opening = next(d for d in ('#"""', '"""', '#"', '"') if text.startswith(d, i))
            closing = opening[::-1]
            raw = opening.startswith("#")
            j = i + len(opening)
            while j < n and not text.startswith(closing, j):
                j += 2 if (text[j] == "\\" and not raw) else 1
            out.append(text[i : j + len(closing)])
            i = j + len(closing)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def module_names(directory: Path) -> set[str]:
    """What a package module provides: top-level names; for extensions of types it does not
    declare, their members and the extended type."""
    files = [code_of(path.read_text(encoding="utf-8")) for path in sorted(directory.rglob("*.swift"))]
    names: set[str] = set()
    for code in files:
        for line in code.splitlines():
            if match := TOP_LEVEL.match(line):
                names.add(match.group(1))
    for code in files:
        extended = None
        for line in code.splitlines():
            if line and not line[0].isspace() and line[0] != "}":
                match = EXTENSION.match(line)
                extended = match.group(1).split(".")[0] if match else None
                if extended in names:
                    extended = None
                elif extended and ":" in line:
                    names.add(extended)  # a conformance
            elif extended and (member := MEMBER.match(line)):
                names.add(member.group(1))
            elif extended and MEMBER_INIT.match(line):
                names.add(extended)  # an initializer is used by the type's name
    return names


def package_modules(root: Path) -> dict[str, Path]:
    modules = {path.name: path for path in (root / "Sources").iterdir() if path.is_dir()}
    support = root / "Tests" / "TestSupport"
    if support.is_dir():
        modules["TestSupport"] = support
    return modules


def unused_imports(root: Path) -> list[str]:
    modules = package_modules(root)
    provided = {name: module_names(path) for name, path in modules.items()}
    provided.update({name: set(words.split()) for name, words in NAMES.items()})
    problems = []
    for top in SCANNED:
        for path in sorted((root / top).rglob("*.swift")) if (root / top).is_dir() else []:
            text = path.read_text(encoding="utf-8")
            code = code_of(text)
            body = "\n".join(line for line in code.splitlines() if not IMPORT.match(line))
            used = set(IDENTIFIER.findall(body))
            for number, line in enumerate(text.splitlines(), start=1):
                match = IMPORT.match(line)
                if not match:
                    continue
                module = match.group(1)
                where = f"{path.relative_to(root)}:{number}"
                if module in PREFIXES:
                    if not any(word.startswith(PREFIXES[module]) for word in used):
                        problems.append(f"{where}: import {module} is unused")
                elif module not in provided:
                    problems.append(
                        f"{where}: import {module}: unknown module; add its names to NAMES in this script"
                    )
                elif not provided[module] & used:
                    problems.append(f"{where}: import {module} is unused")
    return problems


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent.parent
    problems = unused_imports(root)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"check-imports: {len(problems)} unused import(s)", file=sys.stderr)
        return 1
    print("check-imports: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
