using System.Globalization;
using System.Numerics;
using System.Text;
using SSL4Eco.Inference.Checkpoints;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Checkpoints;

public sealed class UnpicklerTests
{
    private static object? Unpickle(byte[] bytes, CheckpointReadOptions? o = null)
    {
        var ms = new MemoryStream(bytes);
        return new Unpickler(ms, ms.Length, _ => throw new CheckpointFormatException("corrupt: no persistent ids here"), o ?? CheckpointReadOptions.Default).Load();
    }

    /// <summary>The same canonical text python's side of <see cref="Every_protocol_matches_python"/> prints.</summary>
    private static string Canon(object? x) => x switch
    {
        null or PickleNone => "None",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        BigInteger bi => bi.ToString(CultureInfo.InvariantCulture),
        double d => "f" + Convert.ToHexStringLower(BitConverter.GetBytes(d)),
        string s => "s" + Convert.ToHexStringLower(Encoding.UTF8.GetBytes(s)),
        byte[] bytes => "b" + Convert.ToHexStringLower(bytes),
        List<object?> l => "[" + string.Join(",", l.Select(Canon)) + "]",
        PickleTuple t => "(" + string.Join(",", t.Select(Canon)) + ")",
        PickleDict d => "{" + string.Join(",", d.Select(kv => Canon(kv.Key) + ":" + Canon(kv.Value))) + "}",
        HashSet<object> set => "set{" + string.Join(",", set.Select(Canon).Order(StringComparer.Ordinal)) + "}",
        _ => "?" + x.GetType().Name,
    };

    [Fact]
    public void Every_protocol_matches_python()
    {
        using var dir = new TempDir();
        var expected = PythonOracle.Run("""
import pickle, struct, sys, collections, os
def canon(x):
    if x is None: return 'None'
    if isinstance(x, bool): return 'True' if x else 'False'
    if isinstance(x, int): return str(x)
    if isinstance(x, float): return 'f' + struct.pack('<d', x).hex()
    if isinstance(x, str): return 's' + x.encode('utf-8').hex()
    if isinstance(x, (bytes, bytearray)): return 'b' + bytes(x).hex()
    if isinstance(x, list): return '[' + ','.join(canon(v) for v in x) + ']'
    if isinstance(x, tuple): return '(' + ','.join(canon(v) for v in x) + ')'
    if isinstance(x, dict): return '{' + ','.join(canon(k) + ':' + canon(v) for k, v in x.items()) + '}'
    if isinstance(x, (set, frozenset)): return 'set{' + ','.join(sorted(canon(v) for v in x)) + '}'
    raise TypeError(type(x))
shared = [1, 2]
obj = {'ints': [0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31, 2**63 - 1, -2**63, 2**64, -(2**100), 10**40],
       'floats': [0.0, -0.0, 2.5, 1e-300, -1.5e300, float('inf')],
       'strs': ['', 'a', 'ünï', 'x\\y', '\u20ac\U0001F600', 'line\nbreak', 'a' * 300],
       'bytes': [b'', b'\x00\xff', bytes(range(256)), bytearray(b'ab')],
       'nest': (1, (2, (3,)), [], {}, ()), 'shared': (shared, shared), 'none': None, 'flags': [True, False],
       (1, 'k'): 'tuple key', 5: {7, 8}, 'frozen': frozenset([1]), 'od': collections.OrderedDict(z=1, a=2)}
for p in range(6):
    open(os.path.join(sys.argv[1], f'p{p}.pkl'), 'wb').write(pickle.dumps(obj, protocol=p))
print(canon(obj))
""", dir.Path).Trim();
        for (int p = 0; p <= 5; p++)
            Assert.Equal(expected, Canon(Unpickle(File.ReadAllBytes(dir.File($"p{p}.pkl")))));
    }

    [Fact]
    public void Deeply_nested_tuples_and_marks_are_refused()
    {
        var tuples = new List<byte> { 0x80, 2, 0x29 };
        tuples.AddRange(Enumerable.Repeat((byte)0x85, 5000));
        tuples.Add(0x2e);
        Assert.Contains("nested", Assert.Throws<CheckpointFormatException>(() => Unpickle([.. tuples])).Message);
        var marks = new List<byte> { 0x80, 2 };
        marks.AddRange(Enumerable.Repeat((byte)0x28, 5000));
        Assert.Contains("nested", Assert.Throws<CheckpointFormatException>(() => Unpickle([.. marks])).Message);
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 2, 0x68, 3, 0x2e }, "memo entry 3")]
    [InlineData(new byte[] { 0x80, 2, 0xff }, "unknown opcode 0xff")]
    [InlineData(new byte[] { 0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f }, "truncated")]
    [InlineData(new byte[] { 0x80, 2, 0x8e, 0, 0, 0, 0, 0, 0, 0, 0x80 }, "corrupt")]
    [InlineData(new byte[] { 0x80, 2, 0x2e }, "empty stack")]
    [InlineData(new byte[] { 0x80, 2, 0x4b, 1, 0x4b, 2, 0x61, 0x2e }, "APPEND to a Int64")]
    public void Malformed_pickles_name_the_problem(byte[] bytes, string expected)
    {
        var e = Assert.Throws<CheckpointFormatException>(() => Unpickle(bytes));
        Assert.Contains(expected, e.Message);
    }
}
