using SSL4Eco.Inference.Files;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace SSL4Eco.Inference.Arrays;

/// <summary>
/// Reads and writes NumPy <c>.npy</c> files (format 1.0/2.0/3.0, C order, little-endian) holding
/// float32, float64, int32, int64, uint8, uint16 or bool arrays. Reading converts to float32 or float64.
/// Writes go to a temporary file renamed on success.
/// </summary>
/// <remarks>Static and thread-safe.</remarks>
public static partial class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Writes a float32 array of the given shape.</summary>
    public static void Write(string path, ReadOnlySpan<float> data, params int[] shape)
        => WriteRaw(path, "<f4", MemoryMarshal.AsBytes(data), shape, data.Length);

    /// <summary>Writes a float64 array of the given shape.</summary>
    public static void Write(string path, ReadOnlySpan<double> data, params int[] shape)
        => WriteRaw(path, "<f8", MemoryMarshal.AsBytes(data), shape, data.Length);

    /// <summary>Writes an int64 array of the given shape.</summary>
    public static void Write(string path, ReadOnlySpan<long> data, params int[] shape)
        => WriteRaw(path, "<i8", MemoryMarshal.AsBytes(data), shape, data.Length);

    private static void WriteRaw(string path, string descr, ReadOnlySpan<byte> bytes, int[] shape, int count)
    {
        long expected = 1;
        foreach (var s in shape) { if (s < 0) throw new ArgumentException("Negative dimension in shape."); expected *= s; }
        if (expected != count) throw new ArgumentException($"Shape ({string.Join(", ", shape)}) holds {expected} values but {count} were given.");
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Big-endian hosts are not supported.");
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";
        int total = Magic.Length + 2 + 2 + header.Length + 1;
        int pad = (64 - total % 64) % 64;
        header = header + new string(' ', pad) + "\n";
        var headerBytes = Encoding.ASCII.GetBytes(header);
        var payload = bytes.ToArray();
        AtomicFile.Write(path, fs =>
        {
            fs.Write(Magic);
            fs.WriteByte(1); fs.WriteByte(0);
            var len = new byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
            fs.Write(len);
            fs.Write(headerBytes);
            fs.Write(payload);
        });
    }

    /// <summary>Reads an array as float32 (converting from any supported dtype). Returns data and shape.</summary>
    public static (float[] Data, int[] Shape) ReadSingle(string path)
    {
        var (descr, shape, payload) = ReadRaw(path);
        int n = checked((int)Count(shape));
        var result = new float[n];
        var dtype = descr[1..];
        switch (dtype)
        {
            case "f4": MemoryMarshal.Cast<byte, float>(payload.AsSpan(0, n * 4)).CopyTo(result); break;
            case "f8": { var s = MemoryMarshal.Cast<byte, double>(payload.AsSpan(0, n * 8)); for (int i = 0; i < n; i++) result[i] = (float)s[i]; break; }
            default: { var d = ReadDouble(descr, payload, n); for (int i = 0; i < n; i++) result[i] = (float)d[i]; break; }
        }
        return (result, shape);
    }

    /// <summary>Reads an array as float64 (converting from any supported dtype). Returns data and shape.</summary>
    public static (double[] Data, int[] Shape) ReadDouble(string path)
    {
        var (descr, shape, payload) = ReadRaw(path);
        int n = checked((int)Count(shape));
        return (ReadDouble(descr, payload, n), shape);
    }

    private static double[] ReadDouble(string descr, byte[] payload, int n)
    {
        var r = new double[n];
        var p = payload.AsSpan();
        switch (descr[1..])
        {
            case "f4": { var s = MemoryMarshal.Cast<byte, float>(p[..(n * 4)]); for (int i = 0; i < n; i++) r[i] = s[i]; break; }
            case "f8": MemoryMarshal.Cast<byte, double>(p[..(n * 8)]).CopyTo(r); break;
            case "i4": { var s = MemoryMarshal.Cast<byte, int>(p[..(n * 4)]); for (int i = 0; i < n; i++) r[i] = s[i]; break; }
            case "i8": { var s = MemoryMarshal.Cast<byte, long>(p[..(n * 8)]); for (int i = 0; i < n; i++) r[i] = s[i]; break; }
            case "u2": { var s = MemoryMarshal.Cast<byte, ushort>(p[..(n * 2)]); for (int i = 0; i < n; i++) r[i] = s[i]; break; }
            case "u1" or "b1": for (int i = 0; i < n; i++) r[i] = p[i]; break;
            default: throw new InvalidDataException($"Unsupported .npy dtype '{descr}'.");
        }
        return r;
    }

    private static long Count(int[] shape) { long c = 1; foreach (var s in shape) c *= s; return c; }

    private static (string Descr, int[] Shape, byte[] Payload) ReadRaw(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
            throw new InvalidDataException($"'{path}' is not a .npy file (bad magic).");
        int major = bytes[6];
        int headerLen, start;
        if (major == 1) { headerLen = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); start = 10; }
        else if (major is 2 or 3) { headerLen = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8))); start = 12; }
        else throw new InvalidDataException($"'{path}': unsupported .npy version {major}.");
        if (start + headerLen > bytes.Length) throw new InvalidDataException($"'{path}' is truncated (header).");
        var header = Encoding.Latin1.GetString(bytes, start, headerLen);
        var descr = DescrRegex().Match(header);
        var shapeM = ShapeRegex().Match(header);
        if (!descr.Success || !shapeM.Success) throw new InvalidDataException($"'{path}': malformed .npy header.");
        if (header.Contains("'fortran_order': True", StringComparison.Ordinal))
            throw new InvalidDataException($"'{path}': Fortran-order arrays are not supported.");
        var d = descr.Groups[1].Value;
        if (d[0] == '>' ) throw new InvalidDataException($"'{path}': big-endian dtype '{d}' is not supported.");
        if (d[0] == '|') d = "<" + d[1..];
        var shape = shapeM.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        int itemSize = int.Parse(d[2..], CultureInfo.InvariantCulture);
        long need = Count(shape) * itemSize;
        int dataStart = start + headerLen;
        if (bytes.Length - dataStart < need)
            throw new InvalidDataException($"'{path}' is truncated: header promises {need} bytes of data, file has {bytes.Length - dataStart}.");
        return (d, shape, bytes[dataStart..]);
    }

    [GeneratedRegex(@"'descr':\s*'([<>|=][a-z]\d+)'")]
    private static partial Regex DescrRegex();

    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
    private static partial Regex ShapeRegex();
}
