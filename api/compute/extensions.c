/* GET /extensions and /extensions/{alias}: the Nova v2.1 extensions this
 * service implements (deprecated in Nova, still listed by it and read by
 * older clients and Tempest). One table: what is listed is what the routes
 * here answer. */
#include "api/compute/internal.h"

#include <string.h>

static const struct {
    const char *alias, *name, *description;
} extensions[] = {
    { "os-flavor-access", "FlavorAccess", "Flavor access support." },
    { "os-flavor-extra-specs", "FlavorExtraSpecs", "Flavors extra specs support." },
    { "os-flavor-manage", "FlavorManage", "Flavor create/delete API support." },
    { "os-keypairs", "Keypairs", "Keypair Support." },
    { "limits", "Limits", "Limits support." },
    { "os-quota-sets", "Quotas", "Quotas management support." },
    { "servers", "Servers", "Servers." },
    { "server-metadata", "ServerMetadata", "Server metadata Support." },
    { "os-server-actions", "ServerActions", "Start/stop, reboot, pause, suspend, resize." },
    { "os-console-output", "ConsoleOutput", "Console log output support." },
    { "os-remote-consoles", "RemoteConsoles", "Serial remote consoles." },
    { "os-volumes-attachments", "VolumeAttachments", "Volume attachments." },
    { "os-attach-interfaces", "AttachInterfaces", "Attach interface support." },
    { "os-instance-actions", "InstanceActions", "View a log of actions on a server." },
    { "os-security-groups", "SecurityGroups", "Security group support." },
    { "os-config-drive", "ConfigDrive", "Config Drive Extension." },
    { "os-extended-status", "ExtendedStatus", "Extended Status support." },
    { "os-extended-volumes", "ExtendedVolumes", "Extended Volumes support." },
    { "os-extended-ips", "ExtendedIps", "Adds type parameter to the ip list." },
    { "os-extended-ips-mac", "ExtendedIpsMac", "Adds mac address parameter to the ip list." },
    { "os-extended-availability-zone", "ExtendedAvailabilityZone",
      "Extended Availability Zone support." },
    { "OS-SRV-USG", "ServerUsage", "Adds launched_at and terminated_at on Servers." },
    { "os-user-data", "UserData", "Add user_data to the Create Server API." },
    { "os-multiple-create", "MultipleCreate", "Allow multiple create in the Create Server API." },
    { "os-server-groups", "ServerGroups", "Server group support." },
    { "os-scheduler-hints", "SchedulerHints", "Pass arbitrary key/value pairs to the scheduler." },
    { "os-availability-zone", "AvailabilityZone",
      "1. Add availability_zone to the Create Server "
      "API. 2. Add availability zones describing." },
    { "os-access-ips", "AccessIPs", "Access IPs support." },
    { "os-lock-server", "LockServer", "Enable lock/unlock server actions." },
    { "os-deferred-delete", "DeferredDelete", "Instance deferred delete (restore, forceDelete)." },
    { "os-server-password", "ServerPassword", "Server password support." },
};

static json_t *view(size_t i)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:[]}", "alias", extensions[i].alias, "name",
                     extensions[i].name, "description", extensions[i].description, "namespace",
                     "http://docs.openstack.org/compute/ext/fake_xml", "updated",
                     "2014-12-03T00:00:00Z", "links");
}

void cmp_extension_list(struct api_req *r)
{
    if (cmp_micro(r) < 0)
        return;
    json_t *list = json_array();
    for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++)
        json_array_append_new(list, view(i));
    api_reply_json(r, 200, json_pack("{s:o}", "extensions", list));
}

void cmp_extension_show(struct api_req *r)
{
    if (cmp_micro(r) < 0)
        return;
    const char *alias = api_req_param(r, 0);
    for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++)
        if (!strcmp(extensions[i].alias, alias))
            return api_reply_json(r, 200, json_pack("{s:o}", "extension", view(i)));
    api_reply_error(r, 404, "Extension could not be found.");
}
