using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;

namespace SSL4Eco.Training.Export;

/// <summary>A named CPU tensor to save: float32 or int64 values in C order.</summary>
internal sealed record NamedTensor(string Name, int[] Shape, float[]? Float32 = null, long[]? Int64 = null)
{
    public string StorageType => Float32 is not null ? "FloatStorage" : "LongStorage";
    public ReadOnlySpan<byte> Bytes => Float32 is not null ? MemoryMarshal.AsBytes(Float32.AsSpan()) : MemoryMarshal.AsBytes(Int64!.AsSpan());
}

/// <summary>
/// Writes PyTorch's zip checkpoint format (as <c>torch.save</c> does since 1.6): stored entries
/// <c>{root}/data.pkl</c> (pickle protocol 2), <c>{root}/data/{key}</c> (raw little-endian storages)
/// and <c>{root}/version</c>. The root object is a dict whose <c>state_dict</c> is an OrderedDict of tensors, plus
/// extra entries (e.g. <c>epoch</c>, <c>hyper_parameters</c>).
/// </summary>
internal static class TorchCheckpointWriter
{
    public static void Write(Stream output, string root, IReadOnlyList<NamedTensor> stateDict, IReadOnlyDictionary<string, object?> extra)
    {
        var p = new PickleWriter();
        p.EmptyDict();
        p.Mark();
        p.Str("state_dict");
        p.Global("collections", "OrderedDict");
        p.EmptyTuple();
        p.Reduce();
        if (stateDict.Count > 0)
        {
            p.Mark();
            for (int i = 0; i < stateDict.Count; i++)
            {
                p.Str(stateDict[i].Name);
                p.Tensor(i.ToString(System.Globalization.CultureInfo.InvariantCulture), stateDict[i].StorageType, stateDict[i].Shape);
            }
            p.SetItems();
        }
        foreach (var (k, v) in extra) { p.Str(k); p.Value(v); }
        p.SetItems();
        byte[] pickle = p.Finish();

        using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true, Encoding.UTF8);
        void Entry(string name, ReadOnlySpan<byte> data)
        {
            var e = zip.CreateEntry(name, CompressionLevel.NoCompression);
            using var s = e.Open();
            s.Write(data);
        }
        Entry(root + "/data.pkl", pickle);
        Entry(root + "/byteorder", "little"u8);
        for (int i = 0; i < stateDict.Count; i++) Entry(root + "/data/" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), stateDict[i].Bytes);
        Entry(root + "/version", "3\n"u8);
    }
}
