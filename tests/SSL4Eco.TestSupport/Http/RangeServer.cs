using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace SSL4Eco.TestSupport;

/// <summary>
/// Minimal static HTTP/1.1 file server on 127.0.0.1 for <c>/vsicurl/</c>: GET and HEAD, single byte ranges
/// (<c>206 Partial Content</c>, <c>Content-Range</c>, <c>Accept-Ranges: bytes</c>), 404 for anything else. Records every request.
/// </summary>
public sealed class RangeServer : IDisposable
{
    public sealed record Request(string Method, string Path, string? Range, int Status);

    private readonly HttpListener _listener;
    private readonly ConcurrentDictionary<string, byte[]> _files;
    private readonly Task _loop;
    private readonly ConcurrentQueue<Request> _requests = new();

    public RangeServer(Dictionary<string, byte[]> files)
    {
        _files = new(files);
        for (int attempt = 0; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try { listener.Start(); }
            catch (HttpListenerException) when (attempt < 5) { listener.Close(); continue; }
            (_listener, Url) = (listener, $"http://127.0.0.1:{port}/");
            break;
        }
        _loop = Task.Run(Loop);
    }

    /// <summary>Base URL with a trailing slash.</summary>
    public string Url { get; }

    public IReadOnlyList<Request> Requests => [.. _requests];

    /// <summary>The served files by path; tests may add or replace files while the server runs.</summary>
    public ConcurrentDictionary<string, byte[]> Files => _files;

    /// <summary>
    /// Optional dynamic route, tried first: returns the status it answered (and then owns the response), or null to fall back
    /// to the static files.
    /// </summary>
    public Func<HttpListenerContext, Task<int?>>? Handler { get; set; }

    private async Task Loop()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            _ = Task.Run(() => Serve(ctx));
        }
    }

    private async Task Serve(HttpListenerContext ctx)
    {
        var req = ctx.Request;
        var res = ctx.Response;
        var path = req.Url?.AbsolutePath ?? "";
        var range = req.Headers["Range"];
        int status = 404;
        try
        {
            res.KeepAlive = true;
            if (Handler is { } handler && await handler(ctx) is { } handled)
            {
                status = handled;
                return;
            }
            if ((req.HttpMethod is not ("GET" or "HEAD")) || !_files.TryGetValue(path, out var data))
            {
                res.StatusCode = status = req.HttpMethod is "GET" or "HEAD" ? 404 : 405;
                res.ContentLength64 = 0;
                return;
            }
            res.Headers["Accept-Ranges"] = "bytes";
            res.ContentType = "application/octet-stream";
            long start = 0, end = data.Length - 1;
            if (range is not null)
            {
                if (!TryParseRange(range, data.Length, out start, out end))
                {
                    res.StatusCode = status = 416;
                    res.Headers["Content-Range"] = $"bytes */{data.Length}";
                    res.ContentLength64 = 0;
                    return;
                }
                res.StatusCode = status = 206;
                res.Headers["Content-Range"] = $"bytes {start}-{end}/{data.Length}";
            }
            else res.StatusCode = status = 200;
            res.ContentLength64 = end - start + 1;
            if (req.HttpMethod == "GET") await res.OutputStream.WriteAsync(data.AsMemory((int)start, (int)(end - start + 1)));
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException) { }
        finally
        {
            _requests.Enqueue(new Request(req.HttpMethod, path, range, status));
            try { res.Close(); } catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException) { }
        }
    }

    /// <summary>Parses a single <c>bytes=a-b</c>, <c>bytes=a-</c> or <c>bytes=-n</c> range (multi-range is refused).</summary>
    private static bool TryParseRange(string header, long length, out long start, out long end)
    {
        start = 0;
        end = length - 1;
        if (!header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase) || header.Contains(',')) return false;
        var parts = header[6..].Split('-', 2);
        if (parts.Length != 2) return false;
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        if (parts[0].Length == 0)
        {
            if (!long.TryParse(parts[1], ci, out var suffix) || suffix <= 0) return false;
            start = Math.Max(0, length - suffix);
            return true;
        }
        if (!long.TryParse(parts[0], ci, out start) || start >= length) return false;
        if (parts[1].Length > 0)
        {
            if (!long.TryParse(parts[1], ci, out end) || end < start) return false;
            end = Math.Min(end, length - 1);
        }
        return true;
    }

    public void Dispose()
    {
        // Close alone: on Unix, Close after Stop re-binds the port to remove its prefixes again and can fail with
        // "Address already in use" when another test has taken the port meanwhile (seen in a full run).
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }
}
