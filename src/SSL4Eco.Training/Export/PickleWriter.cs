using System.Buffers.Binary;
using System.Text;

namespace SSL4Eco.Training.Export;

/// <summary>
/// Emits the small subset of pickle protocol 2 that a PyTorch checkpoint needs: dicts, ordered dicts, strings,
/// ints, floats, booleans, None, tuples, lists, and tensors as <c>torch._utils._rebuild_tensor_v2</c> calls whose
/// storages are persistent ids (<c>('storage', torch.FloatStorage, key, 'cpu', numel)</c>). No memo is used.
/// </summary>
internal sealed class PickleWriter
{
    private readonly MemoryStream _out = new();

    public PickleWriter() { _out.WriteByte(0x80); _out.WriteByte(2); }

    public byte[] Finish() { _out.WriteByte((byte)'.'); return _out.ToArray(); }

    private void Op(char c) => _out.WriteByte((byte)c);
    private void Op(byte b) => _out.WriteByte(b);

    public void Global(string module, string name)
    {
        Op('c');
        var b = Encoding.ASCII.GetBytes(module + "\n" + name + "\n");
        _out.Write(b);
    }

    public void Str(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        Op('X');
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(len, b.Length);
        _out.Write(len);
        _out.Write(b);
    }

    public void Int(long v)
    {
        if (v >= int.MinValue && v <= int.MaxValue)
        {
            Op('J');
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, (int)v);
            _out.Write(b);
        }
        else
        {
            Op(0x8a); Op(8);
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(b, v);
            _out.Write(b);
        }
    }

    public void Float(double v)
    {
        Op('G');
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleBigEndian(b, v);
        _out.Write(b);
    }

    public void Bool(bool v) => Op(v ? (byte)0x88 : (byte)0x89);
    public void None() => Op('N');
    public void Mark() => Op('(');
    public void TupleFromMark() => Op('t');
    public void EmptyTuple() => Op(')');
    public void EmptyDict() => Op('}');
    public void SetItems() => Op('u');
    public void Reduce() => Op('R');
    public void BinPersId() => Op('Q');

    /// <summary>Pushes an int tuple.</summary>
    public void IntTuple(IEnumerable<long> values)
    {
        Mark();
        foreach (var v in values) Int(v);
        TupleFromMark();
    }

    /// <summary>Pushes a value: string, bool, integer, float/double, null, IEnumerable of those (as a list), or a nested dictionary.</summary>
    public void Value(object? v)
    {
        switch (v)
        {
            case null: None(); break;
            case string s: Str(s); break;
            case bool b: Bool(b); break;
            case int or long or short or byte or uint: Int(Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture)); break;
            case float or double: Float(Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture)); break;
            case IReadOnlyDictionary<string, object?> d: Dict(d); break;
            case System.Collections.IEnumerable e:
                Op(']'); Mark();
                foreach (var x in e) Value(x);
                Op('e');
                break;
            default: throw new ArgumentException($"Cannot pickle a {v.GetType().Name}.");
        }
    }

    /// <summary>Pushes a plain dict of simple values.</summary>
    public void Dict(IReadOnlyDictionary<string, object?> d)
    {
        EmptyDict();
        if (d.Count == 0) return;
        Mark();
        foreach (var (k, v) in d) { Str(k); Value(v); }
        SetItems();
    }

    /// <summary>Pushes a tensor rebuilt from storage <paramref name="key"/> (contiguous, CPU).</summary>
    public void Tensor(string key, string storageType, IReadOnlyList<int> shape)
    {
        Global("torch._utils", "_rebuild_tensor_v2");
        Mark();
        // persistent id ('storage', torch.XStorage, key, 'cpu', numel)
        long numel = 1;
        foreach (var d in shape) numel *= d;
        Mark();
        Str("storage");
        Global("torch", storageType);
        Str(key);
        Str("cpu");
        Int(numel);
        TupleFromMark();
        BinPersId();
        Int(0);
        IntTuple(shape.Select(d => (long)d));
        var strides = new long[shape.Count];
        long s = 1;
        for (int i = shape.Count - 1; i >= 0; i--) { strides[i] = s; s *= shape[i]; }
        IntTuple(strides);
        Bool(false);
        Global("collections", "OrderedDict");
        EmptyTuple();
        Reduce();
        TupleFromMark();
        Reduce();
    }
}
