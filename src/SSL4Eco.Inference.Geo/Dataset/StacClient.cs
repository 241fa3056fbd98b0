using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SSL4Eco.Inference.Geo.Dataset;

/// <summary>A Sentinel-2 L2A STAC item as the dataset builder uses it.</summary>
/// <param name="Id">Item id.</param>
/// <param name="Acquired">Acquisition time (UTC, <c>properties.datetime</c>).</param>
/// <param name="CloudCover">Cloud cover in percent (<c>eo:cloud_cover</c>).</param>
/// <param name="ProcessingBaseline">Processing baseline (<c>s2:processing_baseline</c>, e.g. "05.09"), or null.</param>
/// <param name="Tile">MGRS tile (e.g. "31UFQ"), or "unknown".</param>
/// <param name="Assets">Asset key → href.</param>
/// <remarks>Immutable; thread-safe.</remarks>
internal sealed record StacItem(string Id, DateTime Acquired, double CloudCover, string? ProcessingBaseline, string Tile, IReadOnlyDictionary<string, string> Assets);

/// <summary>
/// A minimal STAC API client for <c>/search</c> (POST, with <c>intersects</c>, <c>datetime</c>, <c>collections</c> and the
/// <c>query</c> extension's <c>eo:cloud_cover &lt; N</c>), following <c>next</c> links (GET, or POST with their body, merged
/// when <c>merge</c> is true). It contacts only the endpoint's origin: a <c>next</c> link elsewhere is refused. Retries network
/// errors, timeouts and 429/500/502/503/504 with exponential back-off (base × 2^attempt, capped at 60 s), waiting the server's
/// <c>Retry-After</c> (seconds or HTTP date, capped at 300 s) when it sends one.
/// </summary>
/// <remarks>Thread-safe: concurrent searches share the <see cref="HttpClient"/>.</remarks>
internal sealed class StacClient
{
    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly int _maxAttempts;
    private readonly TimeSpan _baseDelay;
    private readonly TimeSpan _timeout;

    public StacClient(HttpClient http, Uri endpoint, int maxAttempts, TimeSpan baseDelay, TimeSpan timeout)
    {
        _http = http;
        _endpoint = endpoint.AbsoluteUri.EndsWith('/') ? endpoint : new Uri(endpoint.AbsoluteUri + "/");
        _maxAttempts = maxAttempts;
        _baseDelay = baseDelay;
        _timeout = timeout;
    }

    /// <summary>Number of HTTP requests sent (including retries).</summary>
    public int Requests => _requests;
    private int _requests;

    /// <summary>All items at a point in a time range with cloud cover below <paramref name="maxCloudPercent"/>, over every page.</summary>
    public async Task<List<StacItem>> SearchAsync(string collection, double lon, double lat, DateTime from, DateTime to, double maxCloudPercent, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["collections"] = new JsonArray(collection),
            ["intersects"] = new JsonObject { ["type"] = "Point", ["coordinates"] = new JsonArray(lon, lat) },
            ["datetime"] = $"{from.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}/{to.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}",
            ["query"] = new JsonObject { ["eo:cloud_cover"] = new JsonObject { ["lt"] = maxCloudPercent } },
            ["limit"] = 100,
        };
        var items = new List<StacItem>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        Uri url = new(_endpoint, "search");
        string method = "POST";
        JsonObject? requestBody = body;
        for (int page = 0; page < 10_000; page++)
        {
            var doc = await SendAsync(method, url, requestBody, cancellationToken).ConfigureAwait(false);
            if (doc["features"] is not JsonArray features)
                throw new InvalidDataException($"The STAC search at '{url}' returned no 'features' array: is '{_endpoint}' a STAC API root?");
            foreach (var f in features)
                if (f is JsonObject o && Parse(o) is { } item && seen.Add(item.Id)) items.Add(item);
            var next = (doc["links"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(l => (string?)l["rel"] == "next");
            if (next is null || (string?)next["href"] is not { } href) return items;
            var nextUrl = new Uri(url, href);
            if (!SameOrigin(nextUrl))
                throw new InvalidDataException($"The STAC API's next link '{nextUrl}' leaves the configured endpoint '{_endpoint}'; refusing to follow it.");
            method = ((string?)next["method"] ?? "GET").ToUpperInvariant();
            if (method == "POST")
            {
                var linkBody = next["body"] as JsonObject;
                if (linkBody is not null && (bool?)next["merge"] == true && requestBody is not null)
                {
                    var merged = (JsonObject)requestBody.DeepClone();
                    foreach (var kv in linkBody) merged[kv.Key] = kv.Value?.DeepClone();
                    requestBody = merged;
                }
                else requestBody = (JsonObject?)linkBody?.DeepClone() ?? requestBody;
            }
            else requestBody = null;
            url = nextUrl;
        }
        throw new InvalidDataException($"The STAC search at '{_endpoint}' did not end after 10000 pages.");
    }

    private bool SameOrigin(Uri u) =>
        u.Scheme == _endpoint.Scheme && string.Equals(u.Host, _endpoint.Host, StringComparison.OrdinalIgnoreCase) && u.Port == _endpoint.Port;

    private async Task<JsonObject> SendAsync(string method, Uri url, JsonObject? body, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(method == "POST" ? HttpMethod.Post : HttpMethod.Get, url);
            if (method == "POST" && body is not null)
                request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            request.Headers.Accept.ParseAdd("application/geo+json");
            TimeSpan? wait = null;
            string problem;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_timeout);
            try
            {
                Interlocked.Increment(ref _requests);
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    var text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                    try { return JsonNode.Parse(text) as JsonObject ?? throw new InvalidDataException($"The STAC API at '{url}' answered JSON that is not an object."); }
                    catch (JsonException e) { throw new InvalidDataException($"The STAC API at '{url}' answered invalid JSON ({e.Message})."); }
                }
                int status = (int)response.StatusCode;
                problem = $"HTTP {status} {response.ReasonPhrase}";
                if (status is not (429 or 500 or 502 or 503 or 504))
                    throw new HttpRequestException($"The STAC search at '{url}' failed: {problem}; check the endpoint and the collection name.", null, response.StatusCode);
                wait = RetryAfter(response);
            }
            catch (HttpRequestException e) when (e.StatusCode is null) { problem = e.Message; }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested) { problem = $"no answer within {_timeout.TotalSeconds:0.#} s"; }
            if (attempt >= _maxAttempts)
                throw new HttpRequestException($"The STAC search at '{url}' failed {attempt} times, last: {problem}; try again later or raise the retries.");
            var delay = wait ?? TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(60).Ticks, _baseDelay.Ticks << Math.Min(attempt - 1, 20)));
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The Retry-After of a response (seconds or HTTP date), capped at 300 s; null when absent.</summary>
    internal static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var ra = response.Headers.RetryAfter;
        TimeSpan? t = ra?.Delta ?? (ra?.Date is { } d ? d - DateTimeOffset.UtcNow : null);
        if (t is null) return null;
        return t.Value < TimeSpan.Zero ? TimeSpan.Zero : t.Value > TimeSpan.FromSeconds(300) ? TimeSpan.FromSeconds(300) : t.Value;
    }

    /// <summary>Reads the fields the builder needs; null when the item lacks a datetime or a cloud cover.</summary>
    internal static StacItem? Parse(JsonObject o)
    {
        if ((string?)o["id"] is not { } id || o["properties"] is not JsonObject p) return null;
        if ((string?)p["datetime"] is not { } dt || !DateTime.TryParse(dt, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var when)) return null;
        if (p["eo:cloud_cover"] is not JsonValue cv || !cv.TryGetValue<double>(out var cloud) || !(cloud >= 0 && cloud <= 100)) return null;
        string? baseline = p["s2:processing_baseline"] is JsonValue b ? b.ToString() : null;
        var assets = new Dictionary<string, string>(StringComparer.Ordinal);
        if (o["assets"] is JsonObject a)
            foreach (var kv in a)
                if (kv.Value is JsonObject asset && (string?)asset["href"] is { } href) assets[kv.Key] = href;
        return new StacItem(id, when, cloud, baseline, Tile(p, id), assets);
    }

    private static string Tile(JsonObject p, string id)
    {
        string? tile = (string?)p["s2:mgrs_tile"];
        if (tile is null && p["mgrs:utm_zone"] is JsonValue z && (string?)p["mgrs:latitude_band"] is { } band && (string?)p["mgrs:grid_square"] is { } sq)
            tile = $"{z.ToString().PadLeft(2, '0')}{band}{sq}";
        if (tile is null && (string?)p["grid:code"] is { } code && code.StartsWith("MGRS-", StringComparison.Ordinal)) tile = code[5..];
        if (tile is null)
        {
            var m = System.Text.RegularExpressions.Regex.Match(id, @"(?<![0-9A-Z])T?(\d{2}[C-X][A-Z]{2})(?![A-Z])");
            if (m.Success) tile = m.Groups[1].Value;
        }
        tile = new string((tile ?? "").Where(char.IsAsciiLetterOrDigit).ToArray());
        return tile.Length == 0 ? "unknown" : tile;
    }
}
