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
internal static partial class NpyFile
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

    /// <summary>
    /// Writes a float32 array of the given shape whose C-order values <paramref name="writeValues"/> writes to the stream
    /// (little-endian float32 bytes), so arrays larger than memory can be written in pieces. Goes to a temporary file
    /// renamed on success.
    /// </summary>
    /// <exception cref="InvalidOperationException"><paramref name="writeValues"/> wrote a different number of bytes than the shape holds.</exception>
    public static void WriteSingle(string path, int[] shape, Action<Stream> writeValues, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writeValues);
        long count = Count(shape);
        var header = Header("<f4", shape);
        AtomicFile.Write(path, fs =>
        {
            fs.Write(header);
            long start = fs.Position;
            writeValues(fs);
            long written = fs.Position - start;
            if (written != count * sizeof(float))
                throw new InvalidOperationException($"Shape ({string.Join(", ", shape)}) holds {count * sizeof(float)} bytes of float32 but {written} were written.");
        }, cancellationToken);
    }

    private static long Count(int[] shape)
    {
        long expected = 1;
        foreach (var s in shape) { if (s < 0) throw new ArgumentException("Negative dimension in shape."); expected *= s; }
        return expected;
    }

    private static byte[] Header(string descr, int[] shape)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Big-endian hosts are not supported.");
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";
        int total = Magic.Length + 2 + 2 + header.Length + 1;
        int pad = (64 - total % 64) % 64;
        header = header + new string(' ', pad) + "\n";
        var bytes = new byte[Magic.Length + 4 + header.Length];
        Magic.CopyTo(bytes, 0);
        bytes[Magic.Length] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(Magic.Length + 2), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header, bytes.AsSpan(Magic.Length + 4));
        return bytes;
    }

    private static void WriteRaw(string path, string descr, ReadOnlySpan<byte> bytes, int[] shape, int count)
    {
        long expected = Count(shape);
        if (expected != count) throw new ArgumentException($"Shape ({string.Join(", ", shape)}) holds {expected} values but {count} were given.");
        var header = Header(descr, shape);
        var payload = bytes.ToArray();
        AtomicFile.Write(path, fs =>
        {
            fs.Write(header);
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


    /// <summary>
    /// Opens a little-endian float32 <c>.npy</c> file for reading in pieces (arrays larger than memory): returns a read-only
    /// stream positioned at the first value (C order) and the shape. The caller disposes the stream.
    /// </summary>
    /// <exception cref="InvalidDataException">Not a .npy file, not float32, or shorter than its header promises.</exception>
    public static (Stream Data, int[] Shape) OpenSingle(string path)
    {
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            var prefix = new byte[12];
            int got = fs.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false);
            int headerEnd = got < 10 ? 10 : prefix[6] == 1 ? 10 + BinaryPrimitives.ReadUInt16LittleEndian(prefix.AsSpan(8))
                : 12 + (int)Math.Min(int.MaxValue - 12, BinaryPrimitives.ReadUInt32LittleEndian(prefix.AsSpan(8)));
            var head = new byte[Math.Min(headerEnd, (int)Math.Min(fs.Length, int.MaxValue))];
            fs.Position = 0;
            fs.ReadExactly(head);
            var (descr, shape, dataStart) = ParseHeader(head, path);
            if (descr != "<f4") throw new InvalidDataException($"'{path}' holds '{descr}', float32 ('<f4') expected.");
            long need = Count(shape) * 4;
            if (fs.Length - dataStart < need)
                throw new InvalidDataException($"'{path}' is truncated: header promises {need} bytes of data, file has {fs.Length - dataStart}.");
            fs.Position = dataStart;
            return (fs, shape);
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    private static (string Descr, int[] Shape, byte[] Payload) ReadRaw(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var (d, shape, dataStart) = ParseHeader(bytes, path);
        int itemSize = int.Parse(d[2..], CultureInfo.InvariantCulture);
        long need = Count(shape) * itemSize;
        if (bytes.Length - dataStart < need)
            throw new InvalidDataException($"'{path}' is truncated: header promises {need} bytes of data, file has {bytes.Length - dataStart}.");
        return (d, shape, bytes[dataStart..]);
    }

    /// <summary>Most values an array read here may hold (.NET's largest array).</summary>
    internal static long MaxValues => Array.MaxLength;

    private static (string Descr, int[] Shape, int DataStart) ParseHeader(byte[] bytes, string path)
    {
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
            throw new InvalidDataException($"'{path}' is not a .npy file (bad magic).");
        int major = bytes[6];
        int headerLen, start;
        if (major == 1) { headerLen = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); start = 10; }
        else if (major is 2 or 3)
        {
            if (bytes.Length < 12) throw new InvalidDataException($"'{path}' is truncated (header).");
            headerLen = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8))); start = 12;
        }
        else throw new InvalidDataException($"'{path}': unsupported .npy version {major}.");
        if ((long)start + headerLen > bytes.Length) throw new InvalidDataException($"'{path}' is truncated (header).");
        var header = Encoding.Latin1.GetString(bytes, start, headerLen);
        var descr = DescrRegex().Match(header);
        var shapeM = ShapeRegex().Match(header);
        if (!descr.Success || !shapeM.Success) throw new InvalidDataException($"'{path}': malformed .npy header.");
        if (header.Contains("'fortran_order': True", StringComparison.Ordinal))
            throw new InvalidDataException($"'{path}': Fortran-order arrays are not supported.");
        var d = descr.Groups[1].Value;
        if (d[0] == '>' ) throw new InvalidDataException($"'{path}': big-endian dtype '{d}' is not supported.");
        if (d[0] == '|') d = "<" + d[1..];
        var dims = shapeM.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var shape = new int[dims.Length];
        double total = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (!System.Numerics.BigInteger.TryParse(dims[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
                throw new InvalidDataException($"'{path}': malformed .npy header (dimension '{dims[i]}').");
            if (v < 0) throw new InvalidDataException($"'{path}': malformed .npy header (negative dimension).");
            total *= (double)v;
            if (v > int.MaxValue || total > MaxValues)
                throw new InvalidDataException(FormattableString.Invariant(
                    $"'{path}': the .npy header claims shape ({string.Join(", ", dims)}), more than the {MaxValues:N0} values one array can hold; the file is corrupt or not an embedding table."));
            shape[i] = (int)v;
        }
        if (!int.TryParse(d.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out int itemSize) || itemSize is < 1 or > 16)
            throw new InvalidDataException($"Unsupported .npy dtype '{d}' in '{path}'.");
        return (d, shape, start + headerLen);
    }

    [GeneratedRegex(@"'descr':\s*'([<>|=][a-z]\d+)'")]
    private static partial Regex DescrRegex();

    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
    private static partial Regex ShapeRegex();
}
