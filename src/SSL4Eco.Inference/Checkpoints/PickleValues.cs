using System.Collections;

namespace SSL4Eco.Inference.Checkpoints;

/// <summary>
/// A Python tuple read from a pickle. Compared structurally so that tuples can be dictionary keys.
/// Other Python values map to .NET as: <c>None</c> → <see langword="null"/>, <c>bool</c> → <see cref="bool"/>,
/// <c>int</c> → <see cref="long"/> (or <see cref="System.Numerics.BigInteger"/> beyond 64 bits), <c>float</c> → <see cref="double"/>,
/// <c>str</c> → <see cref="string"/>, <c>bytes</c>/<c>bytearray</c> → <see cref="byte"/>[], <c>list</c> → <see cref="List{T}"/> of object,
/// <c>dict</c>/<c>OrderedDict</c>/<c>Counter</c> → <see cref="PickleDict"/>, <c>set</c>/<c>frozenset</c> → <see cref="HashSet{T}"/> of object,
/// tensors → <see cref="CheckpointTensor"/>, class references → <see cref="PickleGlobal"/>, instances of unknown classes → <see cref="PickleObject"/>.
/// </summary>
/// <remarks>Immutable; thread-safe.</remarks>
internal sealed class PickleTuple : IReadOnlyList<object?>, IEquatable<PickleTuple>
{
    private readonly object?[] _items;

    internal PickleTuple(object?[] items)
    {
        _items = items;
        foreach (var x in items)
            if (x is PickleTuple t && t.Depth + 1 > Depth) Depth = t.Depth + 1;
    }

    /// <summary>Nesting depth of tuples inside this tuple (0 when none); bounded by the reader so structural comparison stays shallow.</summary>
    internal int Depth { get; }

    /// <summary>The empty tuple.</summary>
    public static PickleTuple Empty { get; } = new([]);

    /// <summary>Element at <paramref name="index"/>.</summary>
    public object? this[int index] => _items[index];

    /// <summary>Number of elements.</summary>
    public int Count => _items.Length;

    /// <summary>Enumerates the elements.</summary>
    public IEnumerator<object?> GetEnumerator() => ((IEnumerable<object?>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    /// <summary>Structural equality (elements compared with <see cref="object.Equals(object?, object?)"/>).</summary>
    public bool Equals(PickleTuple? other)
    {
        if (other is null || other.Count != Count) return false;
        for (int i = 0; i < _items.Length; i++)
            if (!Equals(_items[i], other._items[i])) return false;
        return true;
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is PickleTuple t && Equals(t);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var x in _items) h.Add(x is PickleTuple ? 17 : x?.GetHashCode() ?? 0); // shallow: bounded work
        return h.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() => "(" + string.Join(", ", _items.Select(x => x?.ToString() ?? "None")) + (_items.Length == 1 ? ",)" : ")");
}

/// <summary>
/// A Python dict (also <c>collections.OrderedDict</c> and <c>Counter</c>), in insertion order. A <c>None</c> key is stored
/// as <see cref="PickleNone.Value"/>.
/// </summary>
/// <remarks>Not thread-safe for mutation; the reader never mutates it after loading.</remarks>
internal sealed class PickleDict : OrderedDictionary<object, object?>
{
    /// <summary>Creates an empty dict.</summary>
    public PickleDict() { }

    /// <summary>The Python class name when not a plain dict (e.g. <c>collections.OrderedDict</c>), else <see langword="null"/>.</summary>
    public string? PythonType { get; internal set; }

    /// <summary>The state given by <c>BUILD</c> (an <c>OrderedDict</c>'s instance attributes, e.g. <c>_metadata</c>), or <see langword="null"/>.</summary>
    public object? State { get; internal set; }

    /// <summary>Looks up a string key; returns <see langword="null"/> when absent.</summary>
    public object? GetOrNull(string key) => TryGetValue(key, out var v) ? v : null;
}

/// <summary>Stands for Python's <c>None</c> where .NET forbids <see langword="null"/> (dictionary keys, set members).</summary>
/// <remarks>Immutable singleton; thread-safe.</remarks>
internal sealed class PickleNone
{
    private PickleNone() { }

    /// <summary>The singleton.</summary>
    public static PickleNone Value { get; } = new();

    /// <inheritdoc/>
    public override string ToString() => "None";
}

/// <summary>A reference to a Python global (a class or function) named by module and qualified name, never resolved or executed.</summary>
/// <param name="Module">The module, e.g. <c>argparse</c>.</param>
/// <param name="Name">The qualified name, e.g. <c>Namespace</c>.</param>
/// <remarks>Immutable; thread-safe.</remarks>
internal sealed record PickleGlobal(string Module, string Name)
{
    /// <summary>The dotted full name.</summary>
    public string FullName => Module + "." + Name;

    /// <inheritdoc/>
    public override string ToString() => FullName;
}

/// <summary>
/// An instance of a Python class the reader does not interpret (e.g. <c>argparse.Namespace</c>,
/// <c>pytorch_lightning.utilities.parsing.AttributeDict</c>, <c>numpy.core.multiarray.scalar</c>). It records how the
/// pickle would have built it — constructor arguments, <c>__setstate__</c> state, appended items and set items — without
/// importing or running anything.
/// </summary>
/// <remarks>Not thread-safe for mutation; the reader never mutates it after loading.</remarks>
internal sealed class PickleObject
{
    internal PickleObject(PickleGlobal type, PickleTuple args, bool viaNewObj)
    {
        Type = type;
        Args = args;
        ViaNewObj = viaNewObj;
    }

    /// <summary>The class or callable that would have built the object.</summary>
    public PickleGlobal Type { get; }

    /// <summary>The module of <see cref="Type"/>.</summary>
    public string Module => Type.Module;

    /// <summary>The name of <see cref="Type"/>.</summary>
    public string Name => Type.Name;

    /// <summary>Constructor (or <c>__reduce__</c>) arguments.</summary>
    public PickleTuple Args { get; }

    /// <summary>Keyword arguments from <c>NEWOBJ_EX</c>, when present.</summary>
    public PickleDict? KwArgs { get; internal set; }

    /// <summary>True when built with <c>NEWOBJ</c>/<c>NEWOBJ_EX</c> (<c>cls.__new__</c>), false for <c>REDUCE</c> (a call).</summary>
    public bool ViaNewObj { get; }

    /// <summary>The state given by <c>BUILD</c> (usually the instance <c>__dict__</c> as a <see cref="PickleDict"/>), or <see langword="null"/>.</summary>
    public object? State { get; internal set; }

    /// <summary>Items appended by <c>APPEND</c>/<c>APPENDS</c> (list subclasses), else empty.</summary>
    public List<object?> ListItems { get; } = [];

    /// <summary>Items set by <c>SETITEM</c>/<c>SETITEMS</c> (dict subclasses), else empty.</summary>
    public PickleDict DictItems { get; } = [];

    /// <summary>
    /// The object's attributes as a dictionary: the <see cref="DictItems"/> (dict subclasses), then the string keys of a
    /// dict <see cref="State"/> (or the second element's dict of a <c>(dict, slots)</c> state).
    /// </summary>
    public PickleDict Attributes()
    {
        var d = new PickleDict();
        foreach (var kv in DictItems) d[kv.Key] = kv.Value;
        void Add(object? s)
        {
            if (s is PickleDict sd) foreach (var kv in sd) d[kv.Key] = kv.Value;
        }
        Add(State);
        if (State is PickleTuple { Count: 2 } t) { Add(t[0]); Add(t[1]); }
        return d;
    }

    /// <inheritdoc/>
    public override string ToString() => $"<{Type.FullName} object>";
}
