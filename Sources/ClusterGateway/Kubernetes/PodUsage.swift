import AsyncHTTPClient
import Foundation
import NIOCore
import ServiceContracts
import TrellisCore

/// A Prometheus server's HTTP API: range queries, each series keyed by its `pod` label.
struct PrometheusClient: Sendable {
    let base: String
    let httpClient: HTTPClient

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// `GET /api/v1/query_range`: each series' points (seconds, value), by pod.
    func range(_ query: String, start: Double, end: Double, step: Double) async throws -> [String: [(at: Double, value: Double)]] {
        let form = [
            ("query", query), ("start", String(format: "%.3f", start)), ("end", String(format: "%.3f", end)),
            ("step", String(format: "%.3f", step)),
        ].map { "\($0.0)=\(Self.formEncoded($0.1))" }.joined(separator: "&")
        var request = HTTPClientRequest(url: base.hasSuffix("/") ? base + "api/v1/query_range" : base + "/api/v1/query_range")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: form))
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, timeout: .seconds(10))
        } catch {
            throw Failure(description: "Prometheus at \(base) is unreachable: \(error)")
        }
        let body = try await response.body.collect(upTo: 16 << 20)
        guard response.status == .ok else {
            throw Failure(description: "Prometheus at \(base) answered \(response.status.code): \(String(buffer: body).prefix(300))")
        }
        struct Answer: Decodable {
            struct Series: Decodable {
                let metric: [String: String]
                let values: [[ValueOrTime]]
            }
            struct Matrix: Decodable { let result: [Series] }
            let data: Matrix
        }
        let answer = try JSONDecoder().decode(Answer.self, from: Data(buffer: body))
        var found: [String: [(at: Double, value: Double)]] = [:]
        for series in answer.data.result {
            guard let pod = series.metric["pod"] else { continue }
            found[pod, default: []] += series.values.compactMap { pair in
                guard pair.count == 2, case .time(let at) = pair[0], case .value(let value) = pair[1] else { return nil }
                return (at, value)
            }
        }
        return found
    }

    /// Everything but letters, digits and `-._~` percent-encoded.
    static func formEncoded(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// Prometheus writes a point as `[1700000000.123, "0.5"]`.
    enum ValueOrTime: Decodable {
        case time(Double)
        case value(Double)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Double.self) {
                self = .time(number)
            } else {
                let text = try container.decode(String.self)
                guard let number = Double(text), number.isFinite else {
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(text) is not a number")
                }
                self = .value(number)
            }
        }
    }
}

/// Resource use of a Kubernetes attempt's pods from Prometheus: cAdvisor's `container_cpu_usage_seconds_total` (as a
/// rate) and `container_memory_working_set_bytes`, DCGM's `DCGM_FI_DEV_GPU_UTIL` and `DCGM_FI_DEV_FB_USED` (MiB), by
/// namespace and pod, summed over the pod's containers.
enum PodUsage {
    /// Seconds between points.
    static let step = 5.0
    /// At most this many points per series in one answer (Prometheus refuses more than 11,000).
    static let maximumPoints = 10_000.0

    static func queries(namespace: String, pods: [String]) -> (cpu: String, memory: String, gpu: String, gpuMemory: String) {
        let selector = "namespace=\(quoted(namespace)),pod=~\(quoted(pods.map(escapedForRegex).joined(separator: "|")))"
        let containers = "\(selector),container!=\"\",container!=\"POD\""
        return (
            "sum by (pod) (rate(container_cpu_usage_seconds_total{\(containers)}[1m]))",
            "sum by (pod) (container_memory_working_set_bytes{\(containers)})",
            "avg by (pod) (DCGM_FI_DEV_GPU_UTIL{\(selector)})",
            "sum by (pod) (DCGM_FI_DEV_FB_USED{\(selector)})"
        )
    }

    /// A PromQL string literal.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Regular expression characters escaped (a pod name may hold dots).
    static func escapedForRegex(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if ".+*?()[]{}|^$\\".contains(character) { escaped += "\\" }
            escaped.append(character)
        }
        return escaped
    }

    /// One sample per pod and instant where any of the series has a point: CPU in cores (as percent of one), memory,
    /// and GPU where DCGM reports it; the replica is the pod's index in `pods`.
    static func samples(
        pods: [String], cpu: [String: [(at: Double, value: Double)]], memory: [String: [(at: Double, value: Double)]],
        gpu: [String: [(at: Double, value: Double)]], gpuMemory: [String: [(at: Double, value: Double)]]
    ) -> [ResourceSample] {
        var samples: [ResourceSample] = []
        for (index, pod) in pods.enumerated() {
            let series = [cpu[pod] ?? [], memory[pod] ?? [], gpu[pod] ?? [], gpuMemory[pod] ?? []].map { points in
                Dictionary(points.map { (Int64(($0.at * 1000).rounded()), $0.value) }) { $1 }
            }
            for instant in Set(series.flatMap(\.keys)).sorted() {
                samples.append(
                    ResourceSample(
                        at: Date(timeIntervalSince1970: Double(instant) / 1000), replica: index,
                        cpuPercent: ((series[0][instant] ?? 0) * 1000).rounded() / 10, rssBytes: Int64(series[1][instant] ?? 0),
                        gpuPercent: series[2][instant], gpuMemoryBytes: series[3][instant].map { Int64($0 * 1_048_576) }, pod: pod))
            }
        }
        return samples
    }

    /// The window to ask for after `after` (milliseconds; 0: from the attempt's start) up to now (or a little after the
    /// attempt's end), and its step: every ``step`` seconds, coarser when the window is long (a collector that was away
    /// catches up in one answer).
    static func window(after: Int64, startedAt: Date?, finishedAt: Date?, now: Date) -> (start: Double, end: Double, step: Double) {
        let start =
            after > 0 ? Double(after) / 1000 + step : (startedAt ?? now.addingTimeInterval(-3600)).timeIntervalSince1970
        let end = min(now.timeIntervalSince1970, finishedAt.map { $0.timeIntervalSince1970 + 3 * step } ?? .infinity)
        return (start, end, max(step, ((end - start) / maximumPoints).rounded(.up)))
    }
}
