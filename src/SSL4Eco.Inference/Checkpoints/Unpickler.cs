using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace SSL4Eco.Inference.Checkpoints;

/// <summary>
/// A pickle virtual machine for the data subset PyTorch checkpoints use (protocols 0–5). It never imports or calls
/// Python code: globals are recorded as <see cref="PickleGlobal"/>, and calls to anything but a short list of
/// understood constructors become <see cref="PickleObject"/>s.
/// </summary>
internal sealed class Unpickler
{
    private readonly Stream _s;
    private readonly long _end;
    private readonly Func<object?, object?> _persistentLoad;
    private readonly CheckpointReadOptions _o;
    private readonly List<object?> _stack = [];
    private readonly List<int> _marks = [];
    private readonly Dictionary<long, object?> _memo = [];

    public Unpickler(Stream s, long end, Func<object?, object?> persistentLoad, CheckpointReadOptions options)
    {
        _s = s; _end = end; _persistentLoad = persistentLoad; _o = options;
    }

    private static CheckpointFormatException Corrupt(string what) => new($"Checkpoint pickle is corrupt: {what}.");

    private long Remaining => _end - _s.Position;

    private void Need(long n, string what)
    {
        if (n < 0 || n > Remaining)
            throw new CheckpointFormatException($"Checkpoint pickle is truncated: {what} needs {n} bytes but only {Math.Max(0, Remaining)} remain.");
    }

    private byte ReadByte(string what)
    {
        Need(1, what);
        int b = _s.ReadByte();
        return b < 0 ? throw new CheckpointFormatException($"Checkpoint pickle is truncated: end of data while reading {what}.") : (byte)b;
    }

    private byte[] ReadBytes(long n, string what)
    {
        Need(n, what);
        var buf = new byte[n];
        _s.ReadExactly(buf);
        return buf;
    }

    private uint U32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4, what));

    private long U64(string what)
    {
        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8, what));
        return v > long.MaxValue ? throw Corrupt($"{what} length {v} is impossible") : (long)v;
    }

    private string ReadLine(string what)
    {
        var sb = new StringBuilder();
        while (true)
        {
            byte b = ReadByte(what);
            if (b == (byte)'\n') break;
            sb.Append((char)b);
            if (sb.Length > 1 << 20) throw Corrupt($"{what} line longer than 1 MiB");
        }
        if (sb.Length > 0 && sb[^1] == '\r') sb.Length--;
        return sb.ToString();
    }

    private void Push(object? x)
    {
        if (_stack.Count >= _o.MaxStackItems) throw Corrupt($"stack exceeds {_o.MaxStackItems} items");
        _stack.Add(x);
    }

    private object? Pop(string op)
    {
        int floor = _marks.Count > 0 ? _marks[^1] : 0;
        if (_stack.Count <= floor) throw Corrupt($"{op} on an empty stack");
        var x = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return x;
    }

    private object? Peek(string op)
    {
        int floor = _marks.Count > 0 ? _marks[^1] : 0;
        if (_stack.Count <= floor) throw Corrupt($"{op} on an empty stack");
        return _stack[^1];
    }

    private List<object?> PopMark(string op)
    {
        if (_marks.Count == 0) throw Corrupt($"{op} without a MARK");
        int m = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(m, _stack.Count - m);
        _stack.RemoveRange(m, _stack.Count - m);
        return items;
    }

    private PickleTuple Tuple(object?[] items)
    {
        var t = new PickleTuple(items);
        if (t.Depth > _o.MaxNesting) throw Corrupt($"tuples nested deeper than {_o.MaxNesting}");
        return t;
    }

    private static object Key(object? k) => k ?? PickleNone.Value;

    private static object? Num(BigInteger b) => b >= long.MinValue && b <= long.MaxValue ? (object)(long)b : b;

    /// <summary>Runs until STOP and returns the result.</summary>
    public object? Load()
    {
        while (true)
        {
            byte op = ReadByte("an opcode");
            switch (op)
            {
                case 0x80: ReadByte("PROTO"); break; // PROTO
                case 0x95: { long n = U64("FRAME"); Need(n, "FRAME"); break; }
                case 0x2e: // STOP
                    {
                        var r = Pop("STOP");
                        return r;
                    }
                case 0x28: // MARK
                    if (_marks.Count >= _o.MaxNesting) throw Corrupt($"MARKs nested deeper than {_o.MaxNesting}");
                    _marks.Add(_stack.Count); break;
                case 0x30: Pop("POP"); break;
                case 0x31: PopMark("POP_MARK"); break;
                case 0x32: Push(Peek("DUP")); break;
                case 0x4e: Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case 0x4a: Push((long)(int)U32("BININT")); break;
                case 0x4b: Push((long)ReadByte("BININT1")); break;
                case 0x4d: Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2, "BININT2"))); break;
                case 0x8a: { int n = ReadByte("LONG1"); Push(Num(new BigInteger(ReadBytes(n, "LONG1"), isUnsigned: false, isBigEndian: false))); break; }
                case 0x8b: { long n = (int)U32("LONG4"); if (n < 0) throw Corrupt("negative LONG4 length"); Push(Num(new BigInteger(ReadBytes(n, "LONG4"), false, false))); break; }
                case 0x49: // INT
                    {
                        var line = ReadLine("INT");
                        if (line == "00") Push(false);
                        else if (line == "01") Push(true);
                        else Push(ParseInt(line));
                        break;
                    }
                case 0x4c: { var line = ReadLine("LONG"); Push(ParseInt(line.TrimEnd('L'))); break; }
                case 0x47: Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8, "BINFLOAT"))); break;
                case 0x46:
                    {
                        var line = ReadLine("FLOAT");
                        Push(double.TryParse(line, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : throw Corrupt($"FLOAT '{Trim(line)}'"));
                        break;
                    }
                case 0x8c: { int n = ReadByte("SHORT_BINUNICODE"); Push(Utf8(ReadBytes(n, "SHORT_BINUNICODE"))); break; }
                case 0x58: Push(Utf8(ReadBytes(U32("BINUNICODE"), "BINUNICODE"))); break;
                case 0x8d: Push(Utf8(ReadBytes(U64("BINUNICODE8"), "BINUNICODE8"))); break;
                case 0x56: Push(ReadLine("UNICODE")); break;
                case 0x55: { int n = ReadByte("SHORT_BINSTRING"); Push(Latin1(ReadBytes(n, "SHORT_BINSTRING"))); break; }
                case 0x54: { long n = (int)U32("BINSTRING"); if (n < 0) throw Corrupt("negative BINSTRING length"); Push(Latin1(ReadBytes(n, "BINSTRING"))); break; }
                case 0x53: { var line = ReadLine("STRING"); Push(line.Length >= 2 && (line[0] == '\'' || line[0] == '"') ? line[1..^1] : line); break; }
                case 0x43: { int n = ReadByte("SHORT_BINBYTES"); Push(ReadBytes(n, "SHORT_BINBYTES")); break; }
                case 0x42: Push(ReadBytes(U32("BINBYTES"), "BINBYTES")); break;
                case 0x8e: Push(ReadBytes(U64("BINBYTES8"), "BINBYTES8")); break;
                case 0x96: Push(ReadBytes(U64("BYTEARRAY8"), "BYTEARRAY8")); break;
                case 0x29: Push(PickleTuple.Empty); break;
                case 0x74: Push(Tuple(PopMark("TUPLE").ToArray())); break;
                case 0x85: { var a = Pop("TUPLE1"); Push(Tuple([a])); break; }
                case 0x86: { var b = Pop("TUPLE2"); var a = Pop("TUPLE2"); Push(Tuple([a, b])); break; }
                case 0x87: { var c = Pop("TUPLE3"); var b = Pop("TUPLE3"); var a = Pop("TUPLE3"); Push(Tuple([a, b, c])); break; }
                case 0x5d: Push(new List<object?>()); break;
                case 0x6c: Push(PopMark("LIST")); break;
                case 0x61: { var x = Pop("APPEND"); Append(Peek("APPEND"), [x], "APPEND"); break; }
                case 0x65: { var items = PopMark("APPENDS"); Append(Peek("APPENDS"), items, "APPENDS"); break; }
                case 0x7d: Push(new PickleDict()); break;
                case 0x64: { var items = PopMark("DICT"); var d = new PickleDict(); SetItems(d, items, "DICT"); Push(d); break; }
                case 0x73: { var v = Pop("SETITEM"); var k = Pop("SETITEM"); SetItems(Peek("SETITEM"), [k, v], "SETITEM"); break; }
                case 0x75: { var items = PopMark("SETITEMS"); SetItems(Peek("SETITEMS"), items, "SETITEMS"); break; }
                case 0x8f: Push(new HashSet<object>()); break;
                case 0x90:
                    {
                        var items = PopMark("ADDITEMS");
                        if (Peek("ADDITEMS") is not HashSet<object> set) throw Corrupt("ADDITEMS to something that is not a set");
                        foreach (var x in items) set.Add(Key(x));
                        break;
                    }
                case 0x91: { var items = PopMark("FROZENSET"); Push(items.Select(Key).ToHashSet()); break; }
                case 0x71: Memo(ReadByte("BINPUT")); break;
                case 0x72: Memo(U32("LONG_BINPUT")); break;
                case 0x70: Memo(ParseLong(ReadLine("PUT"))); break;
                case 0x94: Memo(_memo.Count); break;
                case 0x68: Get(ReadByte("BINGET")); break;
                case 0x6a: Get(U32("LONG_BINGET")); break;
                case 0x67: Get(ParseLong(ReadLine("GET"))); break;
                case 0x63: // GLOBAL
                    {
                        var module = ReadLine("GLOBAL module");
                        var name = ReadLine("GLOBAL name");
                        Push(Global(module, name));
                        break;
                    }
                case 0x93:
                    {
                        var name = Pop("STACK_GLOBAL") as string ?? throw Corrupt("STACK_GLOBAL name is not a string");
                        var module = Pop("STACK_GLOBAL") as string ?? throw Corrupt("STACK_GLOBAL module is not a string");
                        Push(Global(module, name));
                        break;
                    }
                case 0x52: // REDUCE
                    {
                        var args = Pop("REDUCE") as PickleTuple ?? throw Corrupt("REDUCE arguments are not a tuple");
                        var f = Pop("REDUCE") as PickleGlobal ?? throw Corrupt("REDUCE callable is not a global");
                        Push(Call(f, args, newObj: false));
                        break;
                    }
                case 0x81: // NEWOBJ
                    {
                        var args = Pop("NEWOBJ") as PickleTuple ?? throw Corrupt("NEWOBJ arguments are not a tuple");
                        var cls = Pop("NEWOBJ") as PickleGlobal ?? throw Corrupt("NEWOBJ class is not a global");
                        Push(Call(cls, args, newObj: true));
                        break;
                    }
                case 0x92: // NEWOBJ_EX
                    {
                        var kw = Pop("NEWOBJ_EX") as PickleDict ?? throw Corrupt("NEWOBJ_EX keywords are not a dict");
                        var args = Pop("NEWOBJ_EX") as PickleTuple ?? throw Corrupt("NEWOBJ_EX arguments are not a tuple");
                        var cls = Pop("NEWOBJ_EX") as PickleGlobal ?? throw Corrupt("NEWOBJ_EX class is not a global");
                        var o = Call(cls, args, newObj: true);
                        if (o is PickleObject po) po.KwArgs = kw;
                        Push(o);
                        break;
                    }
                case 0x69: // INST
                    {
                        var module = ReadLine("INST module"); var name = ReadLine("INST name");
                        var args = PopMark("INST");
                        Push(Call(Global(module, name), Tuple(args.ToArray()), newObj: true));
                        break;
                    }
                case 0x6f: // OBJ
                    {
                        var items = PopMark("OBJ");
                        if (items.Count == 0 || items[0] is not PickleGlobal cls) throw Corrupt("OBJ without a class");
                        Push(Call(cls, Tuple(items.Skip(1).ToArray()), newObj: true));
                        break;
                    }
                case 0x62: // BUILD
                    {
                        var state = Pop("BUILD");
                        switch (Peek("BUILD"))
                        {
                            case PickleObject po: po.State = state; break;
                            case PickleDict d: d.State = state; break;
                            default: break; // tensors, lists...: state carries nothing we use
                        }
                        break;
                    }
                case 0x51: Push(_persistentLoad(Pop("BINPERSID"))); break;
                case 0x50: Push(_persistentLoad(ReadLine("PERSID"))); break;
                case 0x82: case 0x83: case 0x84:
                    throw Corrupt($"extension-registry opcode 0x{op:x2} is not supported in checkpoints");
                case 0x97: case 0x98:
                    throw Corrupt($"out-of-band buffer opcode 0x{op:x2} is not supported in checkpoints");
                default:
                    throw Corrupt($"unknown opcode 0x{op:x2} at byte {_s.Position - 1}");
            }
        }
    }

    private static string Trim(string s) => s.Length > 40 ? s[..40] + "…" : s;

    private static object? ParseInt(string line) =>
        BigInteger.TryParse(line.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var b) ? Num(b) : throw Corrupt($"integer literal '{Trim(line)}'");

    private static long ParseLong(string line) =>
        long.TryParse(line.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw Corrupt($"memo index '{Trim(line)}'");

    private static string Utf8(byte[] b)
    {
        try { return new UTF8Encoding(false, true).GetString(b); }
        catch (DecoderFallbackException) { throw Corrupt("a string is not valid UTF-8"); }
    }

    private static string Latin1(byte[] b) => Encoding.Latin1.GetString(b);

    private void Memo(long index) => _memo[index] = Peek("PUT");

    private void Get(long index) => Push(_memo.TryGetValue(index, out var v) ? v : throw Corrupt($"memo entry {index} is read before it is written"));

    private static PickleGlobal Global(string module, string name) =>
        new(module == "__builtin__" ? "builtins" : module, name);

    private static void Append(object? target, List<object?> items, string op)
    {
        switch (target)
        {
            case List<object?> l: l.AddRange(items); break;
            case PickleObject po: po.ListItems.AddRange(items); break;
            default: throw Corrupt($"{op} to a {Describe(target)}");
        }
    }

    private static void SetItems(object? target, List<object?> items, string op)
    {
        if (items.Count % 2 != 0) throw Corrupt($"{op} with an odd number of items");
        var d = target switch
        {
            PickleDict pd => pd,
            PickleObject po => po.DictItems,
            _ => throw Corrupt($"{op} to a {Describe(target)}"),
        };
        for (int i = 0; i < items.Count; i += 2) d[Key(items[i])] = items[i + 1];
    }

    private static string Describe(object? x) => x switch
    {
        null => "None",
        PickleTuple => "tuple",
        _ => x.GetType().Name,
    };

    private object? Call(PickleGlobal f, PickleTuple args, bool newObj)
    {
        switch (f.Module, f.Name)
        {
            case ("torch._utils", "_rebuild_tensor_v2"):
            case ("torch._utils", "_rebuild_tensor"):
            case ("torch._utils", "_rebuild_tensor_v3"):
                return RebuildTensor(f.Name, args);
            case ("torch._utils", "_rebuild_parameter"):
            case ("torch._utils", "_rebuild_parameter_with_state"):
                if (args.Count >= 1 && args[0] is CheckpointTensor t)
                    return new CheckpointTensor(t.Storage, t.DType, t.StorageOffset, t.Shape.ToArray(), t.Strides.ToArray(), args.Count > 1 && args[1] is true);
                throw Corrupt($"{f.Name} without a tensor");
            case ("collections", "OrderedDict"):
            case ("collections", "Counter"):
            case ("builtins", "dict"):
                {
                    var d = new PickleDict { PythonType = f.Module == "builtins" ? null : f.FullName };
                    if (args.Count >= 1)
                    {
                        switch (args[0])
                        {
                            case PickleDict src: foreach (var kv in src) d[kv.Key] = kv.Value; break;
                            case List<object?> pairs:
                                foreach (var p in pairs)
                                    if (p is PickleTuple { Count: 2 } kv) d[Key(kv[0])] = kv[1];
                                    else if (p is List<object?> { Count: 2 } kl) d[Key(kl[0])] = kl[1];
                                break;
                        }
                    }
                    return d;
                }
            case ("builtins", "set"):
            case ("builtins", "frozenset"):
                {
                    var s = new HashSet<object>();
                    if (args.Count >= 1 && args[0] is IEnumerable<object?> items) foreach (var x in items) s.Add(Key(x));
                    return s;
                }
            case ("builtins", "list"):
                return args.Count >= 1 && args[0] is IEnumerable<object?> li ? li.ToList() : new List<object?>();
            case ("builtins", "tuple"):
                return args.Count >= 1 && args[0] is IEnumerable<object?> ti ? Tuple(ti.ToArray()) : PickleTuple.Empty;
            case ("builtins", "bytes"):
            case ("builtins", "bytearray"):
                if (args.Count == 0) return Array.Empty<byte>();
                if (args[0] is byte[] bb) return bb;
                break;
            case ("_codecs", "encode"):
                // Protocol 2 spells bytes as _codecs.encode(str, 'latin1'): pure data, decoded here.
                if (args.Count == 2 && args[0] is string text && args[1] is string enc && enc.Replace("-", "").Equals("latin1", StringComparison.OrdinalIgnoreCase))
                    return Encoding.Latin1.GetBytes(text);
                break;
        }
        return new PickleObject(f, args, newObj);
    }

    private static long[] Longs(object? x, string what)
    {
        var list = x switch
        {
            PickleTuple t => (IReadOnlyList<object?>)t,
            List<object?> l => l,
            PickleObject { Module: "torch", Name: "Size", Args: { Count: 1 } a } when a[0] is PickleTuple st => st,
            _ => throw Corrupt($"tensor {what} is a {Describe(x)}, not a tuple of integers"),
        };
        var r = new long[list.Count];
        for (int i = 0; i < r.Length; i++)
            r[i] = list[i] is long v ? v : throw Corrupt($"tensor {what} holds a {Describe(list[i])}");
        return r;
    }

    private static CheckpointTensor RebuildTensor(string fn, PickleTuple a)
    {
        if (a.Count < 4) throw Corrupt($"{fn} with {a.Count} arguments");
        if (a[0] is not CheckpointStorage storage) throw Corrupt($"{fn} storage argument is a {Describe(a[0])}");
        if (a[1] is not long offset) throw Corrupt($"{fn} offset is a {Describe(a[1])}");
        var shape = Longs(a[2], "size");
        var strides = Longs(a[3], "stride");
        bool requiresGrad = a.Count > 4 && a[4] is true;
        var dtype = storage.DType;
        long count = storage.Count;
        if (fn == "_rebuild_tensor_v3" && a.Count > 6 && a[6] is PickleGlobal dg)
        {
            if (!CheckpointDTypes.TryFromDTypeGlobal(dg, out var d)) throw Corrupt($"unknown dtype {dg}");
            if (d != dtype)
            {
                long bytes = count * dtype.ElementSize();
                count = bytes / d.ElementSize();
                storage = new CheckpointStorage(storage.Key, d, count, storage.Location, storage.ReadBytes, storage.Reserve);
                dtype = d;
            }
        }
        CheckpointTensor.CheckView(count, offset, shape, strides);
        return new CheckpointTensor(storage, dtype, offset, shape, strides, requiresGrad);
    }
}
