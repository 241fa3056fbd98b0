// Shim for TorchSharp's libLibTorchSharp.so on systems whose libstdc++ predates GCC 13 (GLIBCXX < 3.4.32),
// e.g. Debian 12. libLibTorchSharp.so references exactly one newer symbol, std::ios_base_library_init(),
// which GCC 13 emits to make sure the iostream objects are constructed. Defining it here with the same effect
// (constructing an ios_base::Init object) satisfies the reference. Compiled by SSL4Eco.Training.LibTorchFix.targets.
#include <ios>

namespace std
{
    __attribute__((visibility("default"))) void ios_base_library_init()
    {
        static ios_base::Init init;
    }
}
