import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

// Helpers for tests that start `kuvert serve` or `kuvert worker` as a process
// and talk to it over real HTTP.

/// A request to a server the test started, with a JSON or form body and headers when given.
package func http(
    _ url: String,
    method: String = "GET",
    json: String? = nil,
    form: String? = nil,
    headers: [String: String] = [:]
) async throws -> (status: Int, body: String) {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    if let json {
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(json.utf8)
    }
    if let form {
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(form.utf8)
    }
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}

/// The samples of a Prometheus text page, by series (`name{labels}`).
package func samples(_ page: String) -> [String: Double] {
    var values: [String: Double] = [:]
    for line in page.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        values[String(line[..<space])] = value
    }
    return values
}

/// The nice value of each thread of process `pid` whose name starts with
/// `prefix`, as the kernel reports them (`/proc/PID/task/TID/stat`, field 19).
package func threadNices(_ pid: Int32, named prefix: String) throws -> [Int] {
    let tasks = "/proc/\(pid)/task"
    return try FileManager.default.contentsOfDirectory(atPath: tasks).compactMap { tid in
        guard let name = try? String(contentsOfFile: "\(tasks)/\(tid)/comm", encoding: .utf8), name.hasPrefix(prefix),
            let stat = try? String(contentsOfFile: "\(tasks)/\(tid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // After the name in parentheses: state is field 3, nice field 19.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 16 ? Int(fields[16]) : nil
    }
}
